import Foundation
import Testing

/// Raw slot paths as a board presents them: stable symlinks are followed, a name that does not
/// exist is never created (the wrong-eMMC-number mistake), and a file left under /dev is refused.
@Suite(.serialized) struct SlotPathTests {
    func configWith(_ sim: SimulatedDeviceFixture, rootfsB: String, name: String) throws -> String {
        var text = try String(contentsOfFile: sim.config, encoding: .utf8)
        text = text.replacingOccurrences(of: "\"" + sim.device + "/slots/rootfs-b.img\"", with: "\"\(rootfsB)\"")
        let path = sim.root + "/\(name).toml"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func aStableSymlinkIsFollowedToItsSlot() throws {
        let sim = try SimulatedDeviceFixture("slot-symlink")
        let byLabel = sim.root + "/by-partlabel"
        try FileManager.default.createDirectory(atPath: byLabel, withIntermediateDirectories: true)
        // As udev makes them: a relative link.
        try FileManager.default.createSymbolicLink(
            atPath: byLabel + "/rootfs-b", withDestinationPath: "../dev/slots/rootfs-b.img")
        let config = try configWith(sim, rootfsB: byLabel + "/rootfs-b", name: "symlink")
        let v2 = try sim.bundle("2.0", securityVersion: 2, seed: 2)
        let installed = try CLI.twinslot("install", v2, "--config", config)
        #expect(installed.status == 0, "\(installed.stderr)")
        #expect(sim.bytes("slots/rootfs-b.img")?.count == 3 << 20 + 777)
        // The link is still a link: the image went through it, not over it.
        #expect((try? FileManager.default.destinationOfSymbolicLink(atPath: byLabel + "/rootfs-b")) != nil)
    }

    @Test func aMissingDeviceIsNeverCreated() throws {
        let sim = try SimulatedDeviceFixture("slot-missing")
        let absent = "/dev/twinslot-test-\(UUID().uuidString.prefix(8))"
        let config = try configWith(sim, rootfsB: absent, name: "missing")
        let before = sim.snapshot()
        for arguments in [["install", "--dry-run"], ["install"]] {
            let result = try CLI.run(
                CLI.binary, arguments + [try sim.bundle("2.0", securityVersion: 2, seed: 2), "--config", config])
            #expect(result.status == 14, "\(arguments): \(result.stdout)\(result.stderr)")
            #expect(result.stderr.contains(absent) && result.stderr.contains("never created"), "\(result.stderr)")
            #expect(!FileManager.default.fileExists(atPath: absent))
        }
        #expect(sim.snapshot() == before)
    }

    @Test func aRegularFileUnderDevIsRefused() throws {
        let sim = try SimulatedDeviceFixture("slot-devfile")
        let leftOver = "/dev/twinslot-test-\(UUID().uuidString.prefix(8))"
        FileManager.default.createFile(atPath: leftOver, contents: Data())
        defer { try? FileManager.default.removeItem(atPath: leftOver) }
        let config = try configWith(sim, rootfsB: leftOver, name: "devfile")
        let result = try CLI.twinslot("install", try sim.bundle("2.0", securityVersion: 2, seed: 2), "--config", config)
        #expect(result.status == 14, "\(result.stderr)")
        #expect(result.stderr.contains("regular file under /dev"), "\(result.stderr)")
        #expect(FileManager.default.contents(atPath: leftOver) == Data())
    }

    /// A slot device that holds a mounted file system (here a loop device mounted by the test;
    /// on a device, the running root named as the other group's slot) is never written.
    @Test func aMountedDeviceIsNeverWritten() throws {
        let sim = try SimulatedDeviceFixture("slot-mounted")
        let image = sim.root + "/disk.img"
        FileManager.default.createFile(atPath: image, contents: Data(count: 8 << 20))
        let attach = try CLI.run("/sbin/losetup", ["-f", "--show", image])
        let loop = attach.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        try #require(attach.status == 0 && loop.hasPrefix("/dev/loop"), "losetup: \(attach.stderr)")
        defer { _ = try? CLI.run("/sbin/losetup", ["-d", loop]) }
        #expect(try CLI.run("/sbin/mkfs.ext4", ["-q", "-F", loop]).status == 0)
        let mountPoint = sim.root + "/mnt"
        try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true)
        #expect(try CLI.run("/bin/mount", [loop, mountPoint]).status == 0)
        var mounted = true
        defer { if mounted { _ = try? CLI.run("/bin/umount", [mountPoint]) } }
        let config = try configWith(sim, rootfsB: loop, name: "mounted")
        let v2 = try sim.bundle("2.0", securityVersion: 2, seed: 2)
        let refused = try CLI.twinslot("install", v2, "--config", config)
        #expect(refused.status == 17, "\(refused.stderr)")
        #expect(refused.stderr.contains("mounted at \(mountPoint)"), "\(refused.stderr)")
        // Unmounted, the same block device takes the image.
        #expect(try CLI.run("/bin/umount", [mountPoint]).status == 0)
        mounted = false
        let installed = try CLI.twinslot("install", v2, "--config", config)
        #expect(installed.status == 0, "\(installed.stderr)")
    }
}
