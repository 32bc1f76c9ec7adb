import Foundation
import Testing

@testable import TwinslotCore

private let repositoryRoot = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

@Suite("Config: fixtures and documentation")
struct ConfigFixtureTests {
    @Test func grubFixtureLoads() throws {
        let path = repositoryRoot.appendingPathComponent("fixtures/configs/grub-device.toml").path
        let config = try SystemConfig.load(path: path)
        #expect(config.bootloader.backend == .grub(grubenv: "/boot/efi/EFI/twinslot/grubenv"))
        #expect(config.slotClasses[0].b == "/dev/disk/by-partlabel/rootfs-b")
        #expect(config.slotClasses.map(\.name) == ["rootfs", "runtime", "apps"])
        #expect(config.health.checks.map(\.kind.name) == ["systemd", "http", "systemd", "command"])
        #expect(config.health.deadline == .seconds(600))
    }

    @Test func ubootFixtureLoads() throws {
        let path = repositoryRoot.appendingPathComponent("fixtures/configs/uboot-device.toml").path
        let config = try SystemConfig.load(path: path)
        #expect(
            config.bootloader.backend
                == .uboot(
                    environments: [
                        .init(path: "/dev/mmcblk0", offset: 0x3f_8000, size: 0x4000),
                        .init(path: "/dev/mmcblk0", offset: 0x3f_c000, size: 0x4000),
                    ], attempts: 3))
        #expect(config.dataDirectory == SystemConfig.defaultDataDirectory)
        #expect(config.health == HealthConfig(checks: config.health.checks, deadlineBoots: 2, deadline: nil))
    }

    /// The examples in docs/configuration.md are the fixtures, word for word.
    @Test func documentationExamplesAreTheFixtures() throws {
        let doc = try String(
            contentsOf: repositoryRoot.appendingPathComponent("docs/configuration.md"), encoding: .utf8)
        let blocks = doc.components(separatedBy: "```toml\n").dropFirst().map {
            $0.components(separatedBy: "```\n")[0]
        }
        #expect(blocks.count == 2)
        for (block, fixture) in zip(blocks, ["grub-device.toml", "uboot-device.toml"]) {
            let text = try String(
                contentsOf: repositoryRoot.appendingPathComponent("fixtures/configs/\(fixture)"), encoding: .utf8)
            #expect(block == text, "docs/configuration.md example differs from fixtures/configs/\(fixture)")
            _ = try SystemConfig.parse(text: block)
        }
    }
}
