import Foundation
import TestSupport
import Testing

/// `twinslot install URL` against the real nginx on 127.0.0.1, directly and through a proxy that
/// cuts connections mid-stream.
@Suite struct HTTPInstallTests {
    func lastJSONLine(_ text: String) throws -> [String: Any] {
        let line = try #require(text.split(separator: "\n").last)
        return try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
    }

    func served(_ sim: SimulatedDeviceFixture, _ bundle: String) throws -> (NginxServer, String, Int) {
        let www = sim.root + "/www"
        try FileManager.default.createDirectory(atPath: www, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: bundle, toPath: www + "/v2.tsb")
        let size = try #require(try FileManager.default.attributesOfItem(atPath: bundle)[.size] as? Int)
        return (try NginxServer(serving: www), "/v2.tsb", size)
    }

    @Test func streamsABundleFromNginx() throws {
        let sim = try SimulatedDeviceFixture("http")
        let (nginx, path, size) = try served(
            sim, try sim.bundle("2.0", securityVersion: 2, seed: 2, incompressible: true))
        let result = try sim.twinslot("install", nginx.url + path, "--json")
        #expect(result.status == 0, "\(result.stderr)")
        let report = try lastJSONLine(result.stdout)
        #expect(report["outcome"] as? String == "staged")
        let download = try #require(report["download"] as? [String: Any])
        #expect(download["bytes_received"] as? Int == size)
        #expect(download["resumes"] as? Int == 0)
        #expect(sim.bytes("slots/rootfs-b.img") != nil)
        let rebooted = try sim.twinslot("sim", "reboot", sim.device)
        #expect(rebooted.status == 0, "\(rebooted.stderr)")
        #expect(sim.group("B", in: try sim.status())["version"] as? String == "2.0")
    }

    @Test func resumesAfterDroppedConnectionsWithoutRefetching() throws {
        let sim = try SimulatedDeviceFixture("http-drop")
        let (nginx, path, size) = try served(
            sim, try sim.bundle("2.0", securityVersion: 2, seed: 2, incompressible: true))
        let proxy = try DroppingProxy(upstreamPort: nginx.port, dropAfter: 700_000, drops: 2)
        let result = try sim.twinslot("install", proxy.url + path, "--json")
        #expect(result.status == 0, "\(result.stderr)")
        let download = try #require(try lastJSONLine(result.stdout)["download"] as? [String: Any])
        #expect(download["resumes"] as? Int == 2)
        #expect(download["bytes_received"] as? Int == size, "nothing was received twice")
        #expect(download["bytes_refetched"] as? Int == 0)
        let connections = try proxy.connections()
        #expect(connections.count == 3)
        #expect(connections.prefix(2).allSatisfy { $0.cut })
        #expect(connections[0].range == nil)
        // Each resume asks for the first byte it has not received.
        for connection in connections.dropFirst() {
            let range = try #require(connection.range)
            let first = try #require(Int(range.dropFirst("bytes=".count).dropLast()))
            #expect(first > 0 && first < size, "\(range)")
        }
        #expect(sim.group("B", in: try sim.status())["bootloader"] as? String == "trial")
    }

    @Test func aLinkThatFailsButProgressesKeepsGoing() throws {
        let sim = try SimulatedDeviceFixture("http-flaky")
        let (nginx, path, size) = try served(
            sim, try sim.bundle("2.0", securityVersion: 2, seed: 2, incompressible: true))
        // Every connection is cut after 500 kB, more times than the retry budget: each one
        // delivers new bytes, so the budget (failures in a row) is never spent.
        let proxy = try DroppingProxy(upstreamPort: nginx.port, dropAfter: 500_000, drops: 1000)
        let result = try sim.twinslot("install", proxy.url + path, "--json", "--retries", "2")
        #expect(result.status == 0, "\(result.stderr)")
        let download = try #require(try lastJSONLine(result.stdout)["download"] as? [String: Any])
        #expect((download["resumes"] as? Int ?? 0) >= size / 500_000)
        #expect(download["bytes_received"] as? Int == size)
    }

    @Test func aLinkThatKeepsFailingGivesUpWithTheNetworkExitCodeAndLosesNothing() throws {
        let sim = try SimulatedDeviceFixture("http-fail")
        let (nginx, path, _) = try served(sim, try sim.bundle("2.0", securityVersion: 2, seed: 2, incompressible: true))
        // Every connection dies inside the response headers: no attempt makes progress.
        let proxy = try DroppingProxy(upstreamPort: nginx.port, dropAfter: 60, drops: 1000)
        let before = sim.snapshot(journal: false)
        let result = try sim.twinslot("install", proxy.url + path, "--json", "--retries", "3")
        #expect(result.status == 19, "\(result.stderr)")
        #expect(result.stderr.contains("after 3 attempts"), "\(result.stderr)")
        #expect(sim.snapshot(journal: false) == before)
        #expect(try proxy.connections().count == 3)
        let status = try sim.status()
        #expect(status["booted"] as? String == "A")
        #expect(try sim.twinslot("install", nginx.url + path, "--json").status == 0, "a later install succeeds")
    }

    @Test func aBundleReplacedOnTheServerMidDownloadIsRefusedNotSpliced() throws {
        let sim = try SimulatedDeviceFixture("http-replaced")
        let (nginx, path, _) = try served(sim, try sim.bundle("2.0", securityVersion: 2, seed: 2, incompressible: true))
        let v3 = try sim.bundle("3.0", securityVersion: 3, seed: 3, incompressible: true)
        let proxy = try DroppingProxy(upstreamPort: nginx.port, dropAfter: 500_000, drops: 1)
        let errors = sim.root + "/install.err"
        FileManager.default.createFile(atPath: errors, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: CLI.binary)
        process.arguments = ["install", proxy.url + path, "--quiet"]
        process.environment = ProcessInfo.processInfo.environment.merging(sim.environment) { $1 }
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle(forWritingAtPath: errors)
        try process.run()
        // Between the cut and the retry (at least 0.25 s of backoff), the server's file changes.
        let deadline = Date().addingTimeInterval(30)
        while try !proxy.connections().contains(where: { $0.cut }) && Date() < deadline { usleep(10_000) }
        let replacement = nginx.root + "/replacement"
        try FileManager.default.copyItem(atPath: v3, toPath: replacement)
        // nginx's ETag is mtime and size: move the mtime so the two files differ for it.
        try FileManager.default.setAttributes(
            [.modificationDate: Date().addingTimeInterval(3600)], ofItemAtPath: replacement)
        _ = rename(replacement, nginx.root + path)
        process.waitUntilExit()
        let stderr = (try? String(contentsOfFile: errors, encoding: .utf8)) ?? ""
        #expect(process.terminationStatus == 19, "\(stderr)")
        #expect(stderr.contains("changed while it was being downloaded"), "\(stderr)")
        let connections = try proxy.connections()
        #expect(connections.count == 2 && connections[1].range != nil, "\(connections)")
        #expect(try sim.status()["booted"] as? String == "A")
    }

    @Test func aMissingBundleIsANetworkErrorAtOnce() throws {
        let sim = try SimulatedDeviceFixture("http-404")
        let (nginx, _, _) = try served(sim, try sim.bundle("2.0", securityVersion: 2, seed: 2, incompressible: true))
        let result = try sim.twinslot("install", nginx.url + "/nope.tsb")
        #expect(result.status == 19)
        #expect(result.stderr.contains("HTTP 404"), "\(result.stderr)")
    }

    @Test func nothingListeningIsRetriedThenRefused() throws {
        let sim = try SimulatedDeviceFixture("http-down")
        let result = try sim.twinslot("install", "http://127.0.0.1:\(freeLoopbackPort())/x.tsb", "--retries", "2")
        #expect(result.status == 19)
        #expect(result.stderr.contains("after 2 attempts"), "\(result.stderr)")
    }
}

/// `install --wait-health`: one command until the update is settled, across the reboot.
@Suite struct WaitHealthTests {
    /// Runs `install --wait-health` in the background, plays the reboot it asks for, and
    /// returns its exit status and output.
    func installAndReboot(_ sim: SimulatedDeviceFixture, _ bundle: String, reboots: Int) throws -> (Int32, String) {
        let output = sim.root + "/wait-\(UUID().uuidString.prefix(6)).out"
        FileManager.default.createFile(atPath: output, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: CLI.binary)
        process.arguments = ["install", bundle, "--wait-health", "--wait-timeout", "60", "--quiet"]
        process.environment = ProcessInfo.processInfo.environment.merging(sim.environment) { $1 }
        process.standardOutput = FileHandle(forWritingAtPath: output)
        process.standardError = process.standardOutput
        let requestsBefore = rebootRequests(sim)
        try process.run()
        let deadline = Date().addingTimeInterval(60)
        while rebootRequests(sim) == requestsBefore && process.isRunning && Date() < deadline { usleep(50_000) }
        for _ in 0..<reboots { _ = try sim.twinslot("sim", "reboot", sim.device) }
        process.waitUntilExit()
        return (process.terminationStatus, (try? String(contentsOfFile: output, encoding: .utf8)) ?? "")
    }

    func rebootRequests(_ sim: SimulatedDeviceFixture) -> Int {
        ((try? String(contentsOfFile: sim.device + "/reboot-requests", encoding: .utf8)) ?? "").split(separator: "\n")
            .count
    }

    @Test func waitsThroughTheRebootUntilCommitted() throws {
        let sim = try SimulatedDeviceFixture("wait-commit")
        let v2 = try sim.bundle("2.0", securityVersion: 2, seed: 2)
        let (status, output) = try installAndReboot(sim, v2, reboots: 1)
        #expect(status == 0, "\(output)")
        #expect(output.contains("2.0 was committed"), "\(output)")
        // Run again (a Job's pod after the node rebooted): nothing is installed twice.
        let again = try sim.twinslot("install", v2, "--wait-health")
        #expect(again.status == 0, "\(again.stderr)")
        #expect(again.stdout.contains("committed"))
        #expect(rebootRequests(sim) == 1)
    }

    @Test func nobodyRebootingIsAStateErrorAfterTheTimeout() throws {
        let sim = try SimulatedDeviceFixture("wait-timeout")
        let v2 = try sim.bundle("2.0", securityVersion: 2, seed: 2)
        let result = try sim.twinslot("install", v2, "--wait-health", "--wait-timeout", "1", "--json")
        #expect(result.status == 18, "\(result.stdout) \(result.stderr)")
        #expect(result.stderr.contains("still undecided after 1 s"), "\(result.stderr)")
        #expect(rebootRequests(sim) == 1, "the reboot was asked for")
        // The install itself stands: group B is the next boot's trial.
        #expect(sim.group("B", in: try sim.status())["bootloader"] as? String == "trial")
    }

    @Test func aRollbackExitsWithTheHealthCodeAndIsNotRetried() throws {
        let sim = try SimulatedDeviceFixture("wait-rollback")
        let bad = try sim.bundle("3.0", securityVersion: 3, seed: 3, failingSelftest: true)
        // The trial fails its health check: the boot service rolls back and asks for a reboot.
        let (status, output) = try installAndReboot(sim, bad, reboots: 2)
        #expect(status == 16, "\(output)")
        #expect(output.contains("rolled-back"), "\(output)")
        #expect(try sim.status()["booted"] as? String == "A")
        let requests = rebootRequests(sim)
        let again = try sim.twinslot("install", bad, "--wait-health")
        #expect(again.status == 16, "\(again.stdout) \(again.stderr)")
        #expect(rebootRequests(sim) == requests, "a rolled-back version is not installed again")
    }
}

/// An install killed mid-bundle continues, at the next run, from the journal's last durable
/// offset: the images already in their slots are read back and hashed, not fetched again.
@Suite(.serialized) struct ResumeAfterKillTests {
    /// Runs `install` until it has staged the first image and begun the second, then kills it
    /// with SIGKILL (nothing of the second image is in its slot yet).
    func killAfterFirstImage(_ sim: SimulatedDeviceFixture, _ location: String) throws {
        try Self.killAtSecondImage(["install", location, "--quiet"], sim)
    }

    /// Runs twinslot with `arguments` until it has staged the first image and begun the second,
    /// then kills it with SIGKILL (nothing of the second image is in its slot yet).
    static func killAtSecondImage(_ arguments: [String], _ sim: SimulatedDeviceFixture) throws {
        let process = try KillTests.start(
            arguments, environment: sim.environment.merging(["TWINSLOT_TEST_STOP_AFTER": "IMAGE-STARTED#2"]) { $1 })
        let deadline = Date().addingTimeInterval(60)
        while !KillTests.isStopped(process.processIdentifier) && process.isRunning && Date() < deadline {
            usleep(20_000)
        }
        try #require(KillTests.isStopped(process.processIdentifier), "\(arguments[0]) did not reach the second image")
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    func install(_ sim: SimulatedDeviceFixture, _ location: String) throws -> [String: Any] {
        let result = try sim.twinslot("install", location, "--json")
        try #require(result.status == 0, "\(result.stderr)")
        let line = try #require(result.stdout.split(separator: "\n").last)
        return try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
    }

    @Test func aKilledDownloadContinuesFromTheLastDurableOffset() throws {
        let sim = try SimulatedDeviceFixture("resume-http")
        let bundle = try sim.bundle("2.0", securityVersion: 2, seed: 2, incompressible: true)
        let www = sim.root + "/www"
        try FileManager.default.createDirectory(atPath: www, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: bundle, toPath: www + "/v2.tsb")
        let size = try #require(try FileManager.default.attributesOfItem(atPath: bundle)[.size] as? Int)
        let nginx = try NginxServer(serving: www)
        try killAfterFirstImage(sim, nginx.url + "/v2.tsb")

        let report = try install(sim, nginx.url + "/v2.tsb")
        #expect(report["outcome"] as? String == "staged")
        let download = try #require(report["download"] as? [String: Any])
        let resumedFrom = try #require(download["resumed_from"] as? Int, "\(report)")
        // The rootfs image (3 MiB of incompressible bytes) came first and was not fetched again.
        #expect(resumedFrom > 3 << 20 && resumedFrom < size)
        let received = try #require(download["bytes_received"] as? Int)
        // The manifest and signature from the start, read-ahead, then the rest from the offset.
        #expect(received < size - (3 << 20) + (1 << 20), "received \(received) of \(size)")
        let log = try String(contentsOfFile: nginx.accessLog, encoding: .utf8)
        #expect(log.contains("\"bytes=\(resumedFrom)-\""), "\(log)")

        // The resumed install is a whole one: the device boots it and commits.
        #expect(try sim.twinslot("sim", "reboot", sim.device).status == 0)
        #expect(sim.group("B", in: try sim.status())["version"] as? String == "2.0")
        #expect(try sim.status()["primary"] as? String == "B")
    }

    @Test func aSlotChangedSinceTheKillIsWrittenAgain() throws {
        let sim = try SimulatedDeviceFixture("resume-tampered")
        let bundle = try sim.bundle("2.0", securityVersion: 2, seed: 2, incompressible: true)
        try killAfterFirstImage(sim, bundle)
        // Someone wrote into the staged rootfs slot: it no longer holds the signed image.
        let handle = try #require(FileHandle(forUpdatingAtPath: sim.device + "/slots/rootfs-b.img"))
        try handle.seek(toOffset: 1000)
        handle.write(Data([1, 2, 3, 4]))
        try handle.close()
        let report = try install(sim, bundle)
        #expect(report["outcome"] as? String == "staged")
        #expect(report["download"] == nil || report["download"] is NSNull)
        #expect(try sim.twinslot("sim", "reboot", sim.device).status == 0)
        #expect(try sim.status()["primary"] as? String == "B")
    }

    @Test func aLocalBundleResumesToo() throws {
        let sim = try SimulatedDeviceFixture("resume-file")
        let bundle = try sim.bundle("2.0", securityVersion: 2, seed: 2, incompressible: true)
        try killAfterFirstImage(sim, bundle)
        let result = try sim.twinslot("install", bundle)
        #expect(result.status == 0, "\(result.stderr)")
        let status = try sim.status()
        let phases = ((status["last_report"] as? [String: Any])?["phases"] as? [[String: Any]]) ?? []
        #expect(phases.contains { ($0["name"] as? String)?.hasPrefix("resume at byte") == true }, "\(phases)")
        #expect(try sim.twinslot("sim", "reboot", sim.device).status == 0)
        #expect(try sim.status()["primary"] as? String == "B")
    }
}

/// HTTPS: the system trust store by default, a pinned CA with --ca-file, and a client
/// certificate for a server that wants one (nginx with TLS on 127.0.0.1).
@Suite struct TLSInstallTests {
    /// A CA, a server certificate for 127.0.0.1 and a client certificate, made with openssl.
    struct Certificates {
        let directory: String
        var ca: String { directory + "/ca.pem" }
        var server: String { directory + "/server.pem" }
        var serverKey: String { directory + "/server.key" }
        var client: String { directory + "/client.pem" }
        var clientKey: String { directory + "/client.key" }

        init(in directory: String) throws {
            self.directory = directory
            let script = """
                set -e
                cd "$1"
                openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem \
                  -days 2 -subj /CN=twinslot-test-tls-ca 2>/dev/null
                for who in server client; do
                  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout $who.key -out $who.csr \
                    -subj /CN=$who 2>/dev/null
                done
                printf 'subjectAltName=IP:127.0.0.1\\nextendedKeyUsage=serverAuth\\n' > server.ext
                printf 'extendedKeyUsage=clientAuth\\n' > client.ext
                for who in server client; do
                  openssl x509 -req -in $who.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
                    -extfile $who.ext -out $who.pem 2>/dev/null
                done
                """
            let made = try TestEnvironment.run("/bin/bash", ["-c", script, "make-certs", directory])
            guard made.status == 0 else { throw TestSupportError("openssl: \(made.stderr)") }
        }
    }

    func served(_ sim: SimulatedDeviceFixture, clientCA: Bool = false) throws -> (NginxServer, Certificates) {
        let www = sim.root + "/www"
        try FileManager.default.createDirectory(atPath: www, withIntermediateDirectories: true)
        try FileManager.default.copyItem(
            atPath: try sim.bundle("2.0", securityVersion: 2, seed: 2), toPath: www + "/v2.tsb")
        let certificates = try Certificates(in: sim.root)
        let nginx = try NginxServer(
            serving: www,
            tls: .init(
                certificate: certificates.server, key: certificates.serverKey,
                clientCA: clientCA ? certificates.ca : nil))
        return (nginx, certificates)
    }

    @Test func aPinnedCAIsTrustedAndAnUnknownOneIsNot() throws {
        let sim = try SimulatedDeviceFixture("tls")
        let (nginx, certificates) = try served(sim)
        let untrusted = try sim.twinslot("install", nginx.url + "/v2.tsb", "--retries", "2")
        #expect(untrusted.status == 19, "\(untrusted.stderr)")
        #expect(untrusted.stderr.contains("TLS"), "\(untrusted.stderr)")
        let pinned = try sim.twinslot("install", nginx.url + "/v2.tsb", "--ca-file", certificates.ca)
        #expect(pinned.status == 0, "\(pinned.stderr)")
    }

    @Test func aServerThatWantsAClientCertificateGetsOne() throws {
        let sim = try SimulatedDeviceFixture("tls-client")
        let (nginx, certificates) = try served(sim, clientCA: true)
        let anonymous = try sim.twinslot(
            "install", nginx.url + "/v2.tsb", "--ca-file", certificates.ca, "--retries", "1")
        // nginx answers 400 "No required SSL certificate was sent".
        #expect(anonymous.status == 19, "\(anonymous.stderr)")
        #expect(anonymous.stderr.contains("HTTP 400"), "\(anonymous.stderr)")
        let identified = try sim.twinslot(
            "install", nginx.url + "/v2.tsb", "--ca-file", certificates.ca, "--client-cert", certificates.client,
            "--client-key", certificates.clientKey)
        #expect(identified.status == 0, "\(identified.stderr)")
    }
}
