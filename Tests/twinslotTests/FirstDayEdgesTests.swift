import Foundation
import Testing

/// Issue 16, item 6: what a first-day user hit, each driven through the real binary.
@Suite struct FirstDayEdgesTests {
    /// `sim init` prints `twinslot --config DIR/system.toml …`: that exact form works, for a
    /// nested device command too, and the value given before the subcommand is the one used.
    @Test func configIsAcceptedBeforeAndAfterTheSubcommand() throws {
        let root = CLI.temporaryDirectory("config-position")
        let pki = try CLI.pki(in: root)
        let created = try CLI.twinslot("sim", "init", root + "/dev", "--keyring", pki + "/keyring.pem")
        #expect(created.status == 0, "\(created.stderr)")
        let config = root + "/dev/system.toml"
        #expect(created.stdout.contains("twinslot --config \(config) "))

        let before = try CLI.twinslot("--config", config, "status", "--json")
        #expect(before.status == 0, "\(before.stderr)")
        #expect(before.stdout.contains("\"booted\" : \"A\""))
        let after = try CLI.twinslot("status", "--config", config, "--json")
        #expect(after.status == 0, "\(after.stderr)")
        #expect(try CLI.twinslot("--config=\(config)", "boot", "--json").status == 0)

        // Honoured, not parsed and dropped: a missing file before the subcommand is exit 17.
        let missing = root + "/nowhere.toml"
        for arguments in [["--config", missing, "status"], ["--config", missing, "bootloader", "init"]] {
            let result = try CLI.run(CLI.binary, arguments, environment: ["TWINSLOT_CONFIG": config])
            #expect(result.status == 17, "\(arguments): \(result.stderr)")
            #expect(result.stderr.contains(missing), "\(arguments)")
        }
    }

    /// Before a command that takes no configuration, `--config` would be parsed and dropped.
    @Test func configBeforeACommandThatTakesNoneIsAUsageError() throws {
        let result = try CLI.twinslot("--config", "/etc/twinslot/system.toml", "bundle", "info", "/nowhere.tsb")
        #expect(result.status == 64, "\(result.stderr)")
        #expect(result.stderr.contains("--config applies only to the device commands"))
    }

    @Test func simInitOnAnExistingDeviceIsAStateRefusal() throws {
        let root = CLI.temporaryDirectory("sim-twice")
        let pki = try CLI.pki(in: root)
        #expect(try CLI.twinslot("sim", "init", root + "/dev", "--keyring", pki + "/keyring.pem").status == 0)
        let before = try Data(contentsOf: URL(fileURLWithPath: root + "/dev/system.toml"))
        let again = try CLI.twinslot("sim", "init", root + "/dev", "--keyring", pki + "/keyring.pem")
        #expect(again.status == 18, "\(again.stderr)")
        #expect(again.stderr.contains("already holds a simulated device"))
        #expect(!again.stderr.contains("bug"))
        #expect(try Data(contentsOf: URL(fileURLWithPath: root + "/dev/system.toml")) == before)
    }

    @Test func aMissingKeyringIsAConfigurationError() throws {
        let root = CLI.temporaryDirectory("no-keyring")
        let missing = root + "/ca.pem"
        let sim = try CLI.twinslot("sim", "init", root + "/dev", "--keyring", missing)
        #expect(sim.status == 17, "\(sim.stderr)")
        #expect(sim.stderr.contains("keyring \(missing) does not exist"))
        #expect(!FileManager.default.fileExists(atPath: root + "/dev/slots"), "nothing made before the refusal")
    }

    @Test func aMissingImageNamesTheImageNotTheBundle() throws {
        let root = CLI.temporaryDirectory("no-image")
        let missing = root + "/rootfs.img"
        let result = try CLI.twinslot(
            "bundle", "create", "--unsigned", "--out", root + "/u.tsb", "--compatible", "board", "--version", "1",
            "--image", "rootfs=" + missing)
        #expect(result.status == 14, "\(result.stderr)")
        #expect(result.stderr.contains("cannot read the image for slot class 'rootfs' at \(missing)"))
        #expect(!result.stderr.contains("cannot read bundle"))
        #expect(!FileManager.default.fileExists(atPath: root + "/u.tsb"))
    }
}

/// `bundle create` checks its signer as a device will, so a bundle every device would refuse
/// is never made.
@Suite struct BundleCreateSignerTests {
    let root = CLI.temporaryDirectory("create-signer")
    let pki: String

    init() throws {
        pki = try CLI.pki(in: root)
        FileManager.default.createFile(atPath: root + "/rootfs.img", contents: Data(repeating: 7, count: 50_000))
    }

    func create(_ name: String, signer: String = "signer", _ extra: String...) throws -> CLI.Result {
        try CLI.run(
            CLI.binary,
            [
                "bundle", "create", "--out", root + "/" + name, "--compatible", "board", "--version", "1",
                "--image", "rootfs=" + root + "/rootfs.img", "--cert", pki + "/\(signer).pem", "--key",
                pki + "/\(signer).key",
            ] + extra)
    }

    func exists(_ name: String) -> Bool { FileManager.default.fileExists(atPath: root + "/" + name) }

    @Test func withTheKeyringAMissingChainIsRefusedBeforeAnythingIsWritten() throws {
        let refused = try create("nochain.tsb", "--keyring", pki + "/keyring.pem")
        #expect(refused.status == 11, "\(refused.stderr)")
        #expect(refused.stderr.contains("does not chain"))
        #expect(!exists("nochain.tsb") && !exists("nochain.tsb.tmp") && !exists("nochain.tsb.parts"))

        let foreign = try create(
            "foreign.tsb", "--chain", pki + "/signer-chain.pem", "--keyring", pki + "/other-keyring.pem")
        #expect(foreign.status == 11, "\(foreign.stderr)")
        #expect(!exists("foreign.tsb"))

        let good = try create("good.tsb", "--chain", pki + "/signer-chain.pem", "--keyring", pki + "/keyring.pem")
        #expect(good.status == 0, "\(good.stderr)")
        #expect(!good.stderr.contains("warning"))
        let verify = try CLI.twinslot("bundle", "verify", root + "/good.tsb", "--keyring", pki + "/keyring.pem")
        #expect(verify.status == 0, "\(verify.stderr)")
    }

    @Test func withoutKeyringOrChainASignerUnderAnIntermediateIsWarnedAbout() throws {
        let warned = try create("warned.tsb")
        #expect(warned.status == 0, "\(warned.stderr)")
        #expect(warned.stderr.contains("warning: signer 'CN=twinslot Test Signer' is issued by"))
        #expect(warned.stderr.contains("--chain"))
        let chained = try create("chained.tsb", "--chain", pki + "/signer-chain.pem")
        #expect(chained.status == 0)
        #expect(!chained.stderr.contains("warning"))
    }

    @Test func anExpiredSignerOrOneThatMayNotSignCodeIsRefusedWithoutAKeyring() throws {
        let expired = try create("expired.tsb", signer: "expired-signer", "--chain", pki + "/signer-chain.pem")
        #expect(expired.status == 11, "\(expired.stderr)")
        #expect(expired.stderr.contains("CN=twinslot Expired Signer") && expired.stderr.contains("expired"))
        #expect(!exists("expired.tsb"))

        let server = try create("server.tsb", signer: "wrong-usage-signer", "--chain", pki + "/signer-chain.pem")
        #expect(server.status == 11, "\(server.stderr)")
        #expect(server.stderr.contains("codeSigning"))
        #expect(!exists("server.tsb"))

        // `bundle sign --cert` signs with the same checks.
        #expect(try create("good.tsb", "--chain", pki + "/signer-chain.pem").status == 0)
        let signed = try CLI.twinslot(
            "bundle", "sign", root + "/good.tsb", "--out", root + "/resigned.tsb", "--cert",
            pki + "/expired-signer.pem", "--key", pki + "/expired-signer.key")
        #expect(signed.status == 11, "\(signed.stderr)")
        #expect(!exists("resigned.tsb"))
    }
}
