import Foundation
import TestSupport
import Testing

/// `--ca-file` really pins: a server chained to a CA of the system trust store is refused when
/// that CA is not in the file. Debian's libcurl trusts its compiled-in CA directory
/// (/etc/ssl/certs) beside any CA file, so setting the file alone did not pin anything.
///
/// The machine's store is left alone: the real binary runs in a mount namespace of its own
/// (`unshare -m`) where a private copy of /etc/ssl/certs, plus a test CA, is bind-mounted over
/// the real one, so libcurl sees that CA as a system CA.
@Suite struct CAPinningTests {
    /// A "system" CA with a server certificate for 127.0.0.1, and an unrelated CA.
    static let script = """
        set -e
        cd "$1"
        for ca in system-ca other-ca; do
          openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout $ca.key -out $ca.pem \
            -days 2 -subj /CN=twinslot-test-$ca 2>/dev/null
        done
        openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout server.key -out server.csr \
          -subj /CN=server 2>/dev/null
        printf 'subjectAltName=IP:127.0.0.1\\nextendedKeyUsage=serverAuth\\n' > server.ext
        openssl x509 -req -in server.csr -CA system-ca.pem -CAkey system-ca.key -CAcreateserial -days 2 \
          -extfile server.ext -out server.pem 2>/dev/null
        # The system store as libcurl reads it: the directory (hashed names) and the bundle file.
        mkdir store
        cp -a /etc/ssl/certs/. store/
        cp system-ca.pem store/twinslot-test-system-ca.pem
        cat system-ca.pem >> store/ca-certificates.crt
        openssl rehash store
        """

    /// Runs the binary with /etc/ssl/certs replaced by `store`, in a mount namespace of its own.
    func twinslotWithStore(_ sim: SimulatedDeviceFixture, _ store: String, _ arguments: [String]) throws -> CLI.Result {
        let wrapper = #"mount --bind "$1" /etc/ssl/certs && shift && exec "$@""#
        return try CLI.run(
            "/usr/bin/unshare",
            ["-m", "--propagation", "private", "/bin/sh", "-c", wrapper, "sh", store, CLI.binary]
                + arguments,
            environment: sim.environment)
    }

    @Test func aServerChainedToASystemCAIsRefusedWhenThatCAIsNotPinned() throws {
        let sim = try SimulatedDeviceFixture("ca-pin")
        let pki = sim.root + "/tls"
        try FileManager.default.createDirectory(atPath: pki, withIntermediateDirectories: true)
        let made = try TestEnvironment.run("/bin/bash", ["-c", Self.script, "make-certs", pki])
        try #require(made.status == 0, "openssl: \(made.stderr)")
        let www = sim.root + "/www"
        try FileManager.default.createDirectory(atPath: www, withIntermediateDirectories: true)
        try FileManager.default.copyItem(
            atPath: try sim.bundle("2.0", securityVersion: 2, seed: 2), toPath: www + "/v2.tsb")
        let nginx = try NginxServer(
            serving: www, tls: .init(certificate: pki + "/server.pem", key: pki + "/server.key"))
        let url = nginx.url + "/v2.tsb"
        let store = pki + "/store"

        // Outside the namespace the test CA is no system CA: refused, as the machine is untouched.
        let plain = try sim.twinslot("install", url, "--retries", "1")
        #expect(plain.status == 19, "\(plain.stderr)")
        // Pinned to an unrelated CA: refused, although the server chains to a system CA.
        let pinned = try twinslotWithStore(
            sim, store, ["install", url, "--retries", "1", "--ca-file", pki + "/other-ca.pem"])
        #expect(pinned.status == 19, "\(pinned.stderr)")
        #expect(pinned.stderr.contains("TLS"), "\(pinned.stderr)")
        // Pinned to its own CA: trusted.
        let own = try twinslotWithStore(sim, store, ["install", url, "--dry-run", "--ca-file", pki + "/system-ca.pem"])
        #expect(own.status == 0, "\(own.stderr)")
        // The namespace works: without --ca-file the system store, with the test CA, trusts it.
        let system = try twinslotWithStore(sim, store, ["install", url, "--retries", "1"])
        #expect(system.status == 0, "\(system.stderr)")
    }
}
