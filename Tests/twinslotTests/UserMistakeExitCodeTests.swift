import Foundation
import Testing

/// User mistakes found by hunting the class of issue 16's "exit 1 for a user error": each gets
/// its documented exit code (docs/cli.md) and a message naming what was wrong.
@Suite struct UserMistakeExitCodeTests {
    let root = CLI.temporaryDirectory("mistakes")

    init() {
        FileManager.default.createFile(atPath: root + "/img", contents: Data(repeating: 1, count: 4096))
    }

    func create(out: String? = nil, _ images: String...) throws -> CLI.Result {
        try CLI.run(
            CLI.binary,
            ["bundle", "create", "--unsigned", "--out", out ?? root + "/x.tsb", "--compatible", "c", "--version", "1"]
                + images.flatMap { ["--image", $0] })
    }

    @Test func badImageSpecificationsAreUsageErrors() throws {
        let img = root + "/img"
        for (spec, message) in [
            (["=" + img], "must be CLASS=PATH"), (["rootfs="], "must be CLASS=PATH"),
            (["Rootfs=" + img], "slot class 'Rootfs' must match"),
            (["rootfs=" + img, "rootfs=" + img], "slot class 'rootfs' is given twice"),
        ] {
            let result = try CLI.run(
                CLI.binary,
                ["bundle", "create", "--unsigned", "--out", root + "/x.tsb", "--compatible", "c", "--version", "1"]
                    + spec.flatMap { ["--image", $0] })
            #expect(result.status == 64, "\(spec): \(result.stderr)")
            #expect(result.stderr.contains(message), "\(spec): \(result.stderr)")
        }
    }

    @Test func aWrongOutputPathIsAUsageErrorAndCreatesNothing() throws {
        let intoDirectory = try create(out: root, "rootfs=" + root + "/img")
        #expect(intoDirectory.status == 64, "\(intoDirectory.stderr)")
        #expect(intoDirectory.stderr.contains("is a directory"))

        let missing = root + "/no-such-dir/x.tsb"
        let result = try create(out: missing, "rootfs=" + root + "/img")
        #expect(result.status == 64, "\(result.stderr)")
        #expect(result.stderr.contains("\(root)/no-such-dir does not exist"))
        #expect(!FileManager.default.fileExists(atPath: root + "/no-such-dir"))
    }

    @Test func aMissingDetachedSignatureIsNamedAsTheSignature() throws {
        #expect(try create("rootfs=" + root + "/img").status == 0)
        let result = try CLI.twinslot(
            "bundle", "sign", root + "/x.tsb", "--signature", root + "/nope.sig", "--out", root + "/s.tsb")
        #expect(result.status == 14, "\(result.stderr)")
        #expect(result.stderr.contains("cannot read the signature \(root)/nope.sig"))
        #expect(!result.stderr.contains("cannot read bundle"))
    }

    @Test func aTransportFileThatIsNotThereIsAConfigurationErrorBeforeAnyTransfer() throws {
        let pki = try CLI.pki(in: root)
        #expect(try CLI.twinslot("sim", "init", root + "/dev", "--keyring", pki + "/keyring.pem").status == 0)
        let config = root + "/dev/system.toml"
        let started = Date()
        let result = try CLI.twinslot(
            "install", "http://127.0.0.1:9/x.tsb", "--ca-file", root + "/nope.pem", "--config", config)
        #expect(result.status == 17, "\(result.stderr)")
        #expect(result.stderr.contains("--ca-file \(root)/nope.pem does not exist"))
        #expect(Date().timeIntervalSince(started) < 5, "refused before the transfer's retries")
    }

    /// `--defaults` on a GRUB device: a wrong argument for this device (64), not "a bug" (1).
    @Test func bootloaderDefaultsOnAGrubDeviceIsAUsageError() throws {
        let pki = try CLI.pki(in: root)
        #expect(try CLI.twinslot("sim", "init", root + "/dev2", "--keyring", pki + "/keyring.pem").status == 0)
        FileManager.default.createFile(atPath: root + "/defaults.txt", contents: Data("bootdelay=0\n".utf8))
        let result = try CLI.twinslot(
            "bootloader", "init", "--config", root + "/dev2/system.toml", "--defaults", root + "/defaults.txt",
            "--force")
        #expect(result.status == 64, "\(result.stderr)")
        #expect(result.stderr.contains("--defaults applies to the uboot backend only"))
    }

    /// docs/configuration.md and the binary agree on `attempts` (1–9: the U-Boot script's
    /// `setexpr` counts in hexadecimal), and the error names the range.
    @Test func ubootAttemptsOutsideOneToNineNameTheRange() throws {
        let dir = root + "/uboot"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: dir + "/flash.img", contents: Data(count: 0x4000))
        for name in ["a.img", "b.img"] { FileManager.default.createFile(atPath: dir + "/" + name, contents: Data()) }
        FileManager.default.createFile(atPath: dir + "/defaults.txt", contents: Data("bootcmd=run twinslot\n".utf8))
        func status(attempts: Int) throws -> CLI.Result {
            let text = """
                compatible = "attempts-test"
                data-directory = "\(dir)/data"
                keyring = "\(dir)/keyring.pem"
                [bootloader]
                backend = "uboot"
                uboot-env = ["\(dir)/flash.img 0x0 0x4000"]
                attempts = \(attempts)
                [slots.rootfs]
                type = "raw"
                a = "\(dir)/a.img"
                b = "\(dir)/b.img"
                """
            try text.write(toFile: dir + "/system.toml", atomically: true, encoding: .utf8)
            return try CLI.twinslot(
                "bootloader", "init", "--config", dir + "/system.toml", "--force", "--defaults", dir + "/defaults.txt")
        }
        #expect(try status(attempts: 9).status == 0)
        for attempts in [0, 10, 255] {
            let refused = try status(attempts: attempts)
            #expect(refused.status == 17, "\(attempts): \(refused.stderr)")
            #expect(refused.stderr.contains("from 1 to 9, got \(attempts)"), "\(refused.stderr)")
        }
        let documented = try String(contentsOfFile: CLI.repositoryRoot + "/docs/configuration.md", encoding: .utf8)
        #expect(documented.contains("| `attempts` | integer, 1–9 |"))
    }
}
