import Foundation
import Testing

/// `bundle verify`, `bundle info --keyring` and `install` refuse the same hostile signatures
/// (issue 13) with exit 11: they share one check. The device's keyring carries CRLs.
@Suite struct SignaturePolicyCLITests {
    let sim: SimulatedDeviceFixture
    let good: String

    init() throws {
        sim = try SimulatedDeviceFixture("sig-policy")
        let keyring = FileManager.default.contents(atPath: sim.pki + "/crl-keyring.pem")!
        FileManager.default.createFile(atPath: sim.device + "/keyring.pem", contents: keyring)
        good = try sim.bundle("2.0", securityVersion: 2, seed: 2)
    }

    /// The good bundle signed again by `signer` of the test PKI. With the openssl CLI, as an
    /// attacker or another tool would: `bundle sign --cert` refuses a signer no device accepts.
    func resigned(_ name: String, signer: String, chain: String = "signer-chain") throws -> String {
        try externallySigned(name, options: [], signer: signer, chain: chain)
    }

    /// The good bundle with a signature the openssl CLI made (`options`), then `edit`ed.
    func externallySigned(
        _ name: String, options: [String], signer: String = "signer", chain: String = "signer-chain",
        edit: (inout Data) -> Void = { _ in }
    ) throws -> String {
        let manifest = sim.root + "/\(name).json"
        let signature = sim.root + "/\(name).sig"
        let extract = try CLI.run("/bin/sh", ["-c", "tar -xOf '\(good)' manifest.json > '\(manifest)'"])
        guard extract.status == 0 else { throw CLIError("tar: \(extract.stderr)") }
        let sign = try CLI.run(
            "/usr/bin/openssl",
            [
                "cms", "-sign", "-binary", "-outform", "DER", "-in", manifest, "-signer", sim.pki + "/\(signer).pem",
                "-inkey", sim.pki + "/\(signer).key", "-certfile", sim.pki + "/\(chain).pem", "-out", signature,
            ] + options)
        guard sign.status == 0 else { throw CLIError("openssl cms: \(sign.stderr)") }
        var bytes = FileManager.default.contents(atPath: signature)!
        edit(&bytes)
        FileManager.default.createFile(atPath: signature, contents: bytes)
        let out = sim.root + "/\(name).tsb"
        let result = try CLI.twinslot("bundle", "sign", good, "--out", out, "--signature", signature)
        guard result.status == 0 else { throw CLIError("bundle sign: \(result.stderr)") }
        return out
    }

    func expectRefusedEverywhere(_ bundle: String, mentioning word: String) throws {
        let keyring = sim.device + "/keyring.pem"
        let runs = [
            ("bundle verify", try sim.twinslot("bundle", "verify", bundle, "--keyring", keyring)),
            ("bundle info", try sim.twinslot("bundle", "info", bundle, "--keyring", keyring)),
            ("install", try sim.twinslot("install", bundle)),
        ]
        for (command, result) in runs {
            #expect(result.status == 11, "\(command): \(result.status) \(result.stderr)")
            #expect(result.stderr.contains(word), "\(command): \(result.stderr)")
        }
        #expect(sim.bytes("slots/rootfs-b.img") == Data(), "nothing was written")
    }

    @Test func theGoodBundlePassesAllThree() throws {
        let keyring = sim.device + "/keyring.pem"
        #expect(try sim.twinslot("bundle", "verify", good, "--keyring", keyring).status == 0)
        #expect(try sim.twinslot("bundle", "info", good, "--keyring", keyring).status == 0)
        #expect(try sim.twinslot("install", good, "--dry-run").status == 0)
    }

    @Test func attachedSignature() throws {
        try expectRefusedEverywhere(try externallySigned("attached", options: ["-nodetach"]), mentioning: "attached")
    }

    @Test func signatureWithATrailingByte() throws {
        let bundle = try externallySigned("trailing", options: []) { $0.append(0) }
        try expectRefusedEverywhere(bundle, mentioning: "trailing")
    }

    @Test func signerThatIsACA() throws {
        try expectRefusedEverywhere(try resigned("ca-signer", signer: "ca-signer"), mentioning: "CA:TRUE")
    }

    @Test func signerWithoutBasicConstraints() throws {
        try expectRefusedEverywhere(
            try resigned("no-bc", signer: "no-bc-signer"), mentioning: "basicConstraints")
    }

    @Test func intermediateWithoutCodeSigning() throws {
        let bundle = try resigned("server-eku", signer: "server-eku-signer", chain: "server-eku-signer-chain")
        try expectRefusedEverywhere(bundle, mentioning: "CN=twinslot Intermediate CA EKU server")
    }

    @Test func revokedSigner() throws {
        try expectRefusedEverywhere(
            try resigned("revoked", signer: "revoked-signer"), mentioning: "CN=twinslot Revoked Signer")
    }
}
