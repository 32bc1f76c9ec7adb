import Foundation
import TestSupport
import Testing

/// Drives the built `twinslot` binary the way scripts do: arguments in, exit code and output out.
enum CLI {
    static var repositoryRoot: String { TestEnvironment.repositoryRoot }

    static var binary: String {
        if let path = ProcessInfo.processInfo.environment["TWINSLOT_BIN"] { return path }
        for configuration in ["debug", "release"] {
            let path = repositoryRoot + "/.build/\(configuration)/twinslot"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        fatalError("build the twinslot binary first (swift build)")
    }

    typealias Result = TestEnvironment.ProcessResult

    @discardableResult
    static func run(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) throws -> Result {
        try TestEnvironment.run(executable, arguments, environment: environment)
    }

    static func twinslot(_ arguments: String..., environment: [String: String] = [:]) throws -> Result {
        try run(binary, arguments, environment: environment)
    }

    static func temporaryDirectory(_ label: String) -> String { TestEnvironment.temporaryDirectory("cli-" + label) }

    /// The shared test PKI.
    static func pki(in directory: String) throws -> String { try TestEnvironment.pki() }
}

struct CLIError: Error {
    var message: String
    init(_ message: String) { self.message = message }
}

@Suite struct BundleCommandTests {
    let directory = CLI.temporaryDirectory("bundle")
    let pki: String

    init() throws {
        pki = try CLI.pki(in: directory)
        var image = [UInt8](repeating: 0, count: 200_000)
        for i in image.indices { image[i] = UInt8(truncatingIfNeeded: i * 7 / 3) }
        FileManager.default.createFile(atPath: directory + "/rootfs.img", contents: Data(image))
    }

    func create(_ name: String, signer: String = "signer", extra: [String] = []) throws -> CLI.Result {
        try CLI.run(
            CLI.binary,
            [
                "bundle", "create", "--out", directory + "/" + name, "--compatible", "board", "--version", "1.2.3",
                "--security-version", "4", "--image", "rootfs=" + directory + "/rootfs.img", "--cert",
                pki + "/\(signer).pem", "--key", pki + "/\(signer).key", "--chain", pki + "/signer-chain.pem",
            ] + extra)
    }

    @Test func createInfoVerifyExtract() throws {
        let created = try create("ok.tsb")
        #expect(created.status == 0, "\(created.stderr)")
        let info = try CLI.twinslot(
            "bundle", "info", directory + "/ok.tsb", "--keyring", pki + "/keyring.pem", "--json")
        #expect(info.status == 0)
        let json = try JSONSerialization.jsonObject(with: Data(info.stdout.utf8)) as! [String: Any]
        #expect(json["signature"] as? String == "verified")
        let manifest = json["manifest"] as! [String: Any]
        #expect(manifest["version"] as? String == "1.2.3")
        #expect(manifest["security_version"] as? Int == 4)

        let verify = try CLI.twinslot("bundle", "verify", directory + "/ok.tsb", "--keyring", pki + "/keyring.pem")
        #expect(verify.status == 0, "\(verify.stderr)")
        #expect(verify.stdout.contains("verified"))

        let extract = try CLI.twinslot(
            "bundle", "extract", directory + "/ok.tsb", "--keyring", pki + "/keyring.pem", "--dir", directory + "/out")
        #expect(extract.status == 0)
        #expect(
            FileManager.default.contents(atPath: directory + "/out/rootfs.img")
                == FileManager.default.contents(atPath: directory + "/rootfs.img"))
    }

    @Test func distinctExitCodesForBadUntrustedAndUsage() throws {
        #expect(try create("ok.tsb").status == 0)
        // Bad bundle: a flipped byte in the payload.
        var bytes = [UInt8](FileManager.default.contents(atPath: directory + "/ok.tsb")!)
        bytes[bytes.count - 2000] ^= 0xff
        FileManager.default.createFile(atPath: directory + "/bad.tsb", contents: Data(bytes))
        let bad = try CLI.twinslot("bundle", "verify", directory + "/bad.tsb", "--keyring", pki + "/keyring.pem")
        #expect(bad.status == 10)
        #expect(bad.stderr.contains("rootfs.img.zst"))

        // Untrusted: verified against another keyring.
        let untrusted = try CLI.twinslot(
            "bundle", "verify", directory + "/ok.tsb", "--keyring", pki + "/other-keyring.pem")
        #expect(untrusted.status == 11)
        #expect(untrusted.stderr.contains("does not chain"))

        // Expired signer: `bundle create` refuses it (BundleCreateSignerTests), so the bundle a
        // device must refuse is signed outside twinslot, as an attacker or an old build would.
        #expect(
            try CLI.twinslot(
                "bundle", "create", "--unsigned", "--out", directory + "/u-expired.tsb", "--compatible", "board",
                "--version", "1", "--image", "rootfs=" + directory + "/rootfs.img"
            ).status == 0)
        let signed = try CLI.run(
            "/bin/sh",
            [
                "-c",
                "tar -xOf '\(directory)/u-expired.tsb' manifest.json > '\(directory)/e.json' && openssl cms -sign "
                    + "-binary -outform DER -in '\(directory)/e.json' -signer '\(pki)/expired-signer.pem' -inkey "
                    + "'\(pki)/expired-signer.key' -certfile '\(pki)/signer-chain.pem' -out '\(directory)/e.sig'",
            ])
        #expect(signed.status == 0, "\(signed.stderr)")
        #expect(
            try CLI.twinslot(
                "bundle", "sign", directory + "/u-expired.tsb", "--signature", directory + "/e.sig", "--out",
                directory + "/expired.tsb"
            ).status == 0)
        let expired = try CLI.twinslot(
            "bundle", "verify", directory + "/expired.tsb", "--keyring", pki + "/keyring.pem")
        #expect(expired.status == 11)
        #expect(expired.stderr.contains("expired"))

        // Usage error.
        let usage = try CLI.twinslot("bundle", "create", "--out", directory + "/x.tsb")
        #expect(usage.status == 64)

        // JSON error report for orchestrators.
        let json = try CLI.twinslot("bundle", "info", directory + "/bad-name.tsb", "--json")
        #expect(json.status == 14)
        let object = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as! [String: Any]
        let error = object["error"] as! [String: Any]
        #expect(error["exit_code"] as? Int == 14)
    }

    @Test func externalSignatureFromTheOpenSSLCommandLine() throws {
        let created = try CLI.twinslot(
            "bundle", "create", "--unsigned", "--out", directory + "/u.tsb", "--compatible", "board", "--version", "1",
            "--image", "rootfs=" + directory + "/rootfs.img")
        #expect(created.status == 0, "\(created.stderr)")
        let unsignedVerify = try CLI.twinslot(
            "bundle", "verify", directory + "/u.tsb", "--keyring", pki + "/keyring.pem")
        #expect(unsignedVerify.status == 11)
        #expect(unsignedVerify.stderr.contains("not signed"))

        let extract = try CLI.run(
            "/bin/sh", ["-c", "tar -xOf '\(directory)/u.tsb' manifest.json > '\(directory)/m.json'"])
        #expect(extract.status == 0)
        let sign = try CLI.run(
            "/usr/bin/openssl",
            [
                "cms", "-sign", "-binary", "-outform", "DER", "-in", directory + "/m.json", "-signer",
                pki + "/signer.pem", "-inkey", pki + "/signer.key", "-certfile", pki + "/signer-chain.pem", "-out",
                directory + "/m.sig",
            ])
        #expect(sign.status == 0)
        let signed = try CLI.twinslot(
            "bundle", "sign", directory + "/u.tsb", "--signature", directory + "/m.sig", "--out", directory + "/s.tsb",
            "--keyring", pki + "/keyring.pem")
        #expect(signed.status == 0, "\(signed.stderr)")
        let verify = try CLI.twinslot("bundle", "verify", directory + "/s.tsb", "--keyring", pki + "/keyring.pem")
        #expect(verify.status == 0, "\(verify.stderr)")
    }
}
