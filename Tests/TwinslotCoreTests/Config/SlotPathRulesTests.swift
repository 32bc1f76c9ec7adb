import Foundation
import Testing

@testable import TwinslotCore

/// A configuration whose slot paths alias each other or twinslot's own files is refused at load
/// (exit 17), naming both keys: such a device would commit a group holding the wrong image, or
/// overwrite its own journal or bootloader environment.
@Suite struct SlotPathRulesTests {
    func config(
        rootfsB: String = "/dev/mmcblk0p3", appsA: String = "/data/apps/a", grubenv: String = "/boot/grub/grubenv"
    )
        -> String
    {
        """
        compatible = "rules"
        data-directory = "/data/twinslot"
        keyring = "/etc/twinslot/keyring.pem"

        [bootloader]
        backend = "grub"
        grubenv = "\(grubenv)"

        [slots.rootfs]
        type = "raw"
        a = "/dev/mmcblk0p2"
        b = "\(rootfsB)"

        [slots.firmware]
        type = "raw"
        a = "/dev/mmcblk0p4"
        b = "/dev/mmcblk0p5"

        [slots.apps]
        type = "directory"
        a = "\(appsA)"
        b = "/data/apps/b"
        current = "/data/apps/current"

        """
    }

    func refusal(_ text: String, path: String? = nil) -> String? {
        do {
            _ = try SystemConfig.parse(text: text, sourcePath: path)
            return nil
        } catch {
            #expect((error as? any ClassifiedError)?.failureClass == .config)
            return String(describing: error)
        }
    }

    @Test func theExampleLoads() throws {
        _ = try SystemConfig.parse(text: config())
    }

    @Test func aliasesAreOnePath() throws {
        #expect(
            refusal(config(rootfsB: "/dev/../dev/mmcblk0p4"))?.contains(
                "slot 'firmware' key 'a': path \"/dev/mmcblk0p4\" is already used by slot 'rootfs' key 'b'") == true)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rules-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir + "/real", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createSymbolicLink(atPath: dir + "/link", withDestinationPath: dir + "/real")
        var text = config(appsA: dir + "/real")
        text = text.replacingOccurrences(of: "b = \"/data/apps/b\"", with: "b = \"\(dir)/link\"")
        let message = refusal(text)
        #expect(
            message?.contains("slot 'apps' key 'b'") == true && message?.contains("are one file") == true,
            "\(message ?? "")")
    }

    @Test func slotsNeverOverlapTwinslotsOwnFiles() {
        let cases: [(String, String)] = [
            (
                config(grubenv: "/dev/mmcblk0p5"),
                "slot 'firmware' key 'b': path \"/dev/mmcblk0p5\" is bootloader.grubenv"
            ),
            (config(appsA: "/data/twinslot"), "slot 'apps' key 'a': path \"/data/twinslot\" is data-directory"),
            (config(appsA: "/data"), "slot 'apps' key 'a': path \"/data\" contains data-directory"),
            (config(appsA: "/data/twinslot/apps"), "lies inside data-directory"),
            (config(appsA: "/etc/twinslot"), "contains keyring \"/etc/twinslot/keyring.pem\""),
        ]
        for (text, expected) in cases {
            let message = refusal(text)
            #expect(message?.contains(expected) == true, "\(message ?? "accepted")")
        }
        #expect(refusal(config(appsA: "/etc"), path: "/etc/system.toml")?.contains("contains") == true)
    }
}
