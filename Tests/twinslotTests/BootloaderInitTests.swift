import Foundation
import Testing

/// `twinslot bootloader init`, read back with the bootloader's own tools.
@Suite struct BootloaderInitTests {
    func config(_ dir: String, bootloader: String) throws -> String {
        FileManager.default.createFile(atPath: dir + "/a.img", contents: Data())
        FileManager.default.createFile(atPath: dir + "/b.img", contents: Data())
        let text = """
            compatible = "init-test"
            data-directory = "\(dir)/data"
            keyring = "\(dir)/keyring.pem"

            [bootloader]
            \(bootloader)

            [slots.rootfs]
            type = "raw"
            a = "\(dir)/a.img"
            b = "\(dir)/b.img"

            """
        try text.write(toFile: dir + "/system.toml", atomically: true, encoding: .utf8)
        return dir + "/system.toml"
    }

    @Test func grubenvIsCreatedAsGrubEditenvReadsIt() throws {
        let dir = CLI.temporaryDirectory("init-grub")
        let config = try config(dir, bootloader: "backend = \"grub\"\ngrubenv = \"\(dir)/grubenv\"")
        let made = try CLI.twinslot("bootloader", "init", "--config", config)
        #expect(made.status == 0, "\(made.stderr)")
        let listed = try CLI.run("/usr/bin/grub-editenv", [dir + "/grubenv", "list"])
        #expect(
            listed.stdout.split(separator: "\n").map(String.init) == [
                "ORDER=A B", "A_OK=1", "A_TRY=0", "A_TRIAL=0", "B_OK=0", "B_TRY=0", "B_TRIAL=0",
            ], "\(listed.stdout)")
        // A second run would forget what the device did since: refused unless forced.
        let again = try CLI.twinslot("bootloader", "init", "--config", config, "--primary", "B")
        #expect(again.status == 18)
        #expect(again.stderr.contains("--force"))
        #expect(try CLI.twinslot("bootloader", "init", "--config", config, "--primary", "B", "--force").status == 0)
        let forced = try CLI.run("/usr/bin/grub-editenv", [dir + "/grubenv", "list"]).stdout
        #expect(forced.hasPrefix("ORDER=B A\nA_OK=0") && forced.contains("B_OK=1\nB_TRY=0\nB_TRIAL=0"), "\(forced)")
    }

    @Test func uBootBlankFlashGetsTheBoardDefaultsAndTheScheme() throws {
        let dir = CLI.temporaryDirectory("init-uboot")
        FileManager.default.createFile(atPath: dir + "/flash.img", contents: Data(count: 0x4000))
        let config = try config(dir, bootloader: "backend = \"uboot\"\nuboot-env = [\"\(dir)/flash.img 0x0 0x4000\"]")
        try "# board defaults\nbootcmd=run twinslot_boot\nbootdelay=0\n".write(
            toFile: dir + "/defaults.txt", atomically: true, encoding: .utf8)
        let made = try CLI.twinslot("bootloader", "init", "--config", config, "--defaults", dir + "/defaults.txt")
        #expect(made.status == 0, "\(made.stderr)")
        try "\(dir)/flash.img 0x0 0x4000\n".write(toFile: dir + "/fw_env.config", atomically: true, encoding: .utf8)
        let printed = try CLI.run("/usr/bin/fw_printenv", ["-c", dir + "/fw_env.config"])
        #expect(
            printed.stdout.split(separator: "\n").map(String.init) == [
                "BOOT_A_LEFT=3", "BOOT_A_TRIAL=0", "BOOT_B_LEFT=0", "BOOT_B_TRIAL=0", "BOOT_ORDER=A",
                "bootcmd=run twinslot_boot",
                "bootdelay=0",
            ], "\(printed.stdout)\(printed.stderr)")
        let usage = try CLI.twinslot("bootloader", "init", "--config", config, "--defaults", dir + "/none", "--force")
        #expect(usage.status == 17, "\(usage.stderr)")
    }
}
