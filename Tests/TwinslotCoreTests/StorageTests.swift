import Foundation
import SystemPackage
import Testing

@testable import TwinslotCore

@Suite struct PosixStorageTests {
    let storage = PosixStorage()

    /// /proc and /sys files report a size of 0: read to the end, not to the size, or the kernel's
    /// boot id (and so one decision per boot) would silently vanish on every real device.
    @Test func kernelFilesOfSizeZeroAreReadWhole() throws {
        let bootID = try #require(try storage.readFile(FilePath("/proc/sys/kernel/random/boot_id")))
        #expect(String(decoding: bootID, as: UTF8.self).trimmingWhitespace().count == 36)
        // /proc/cmdline refuses lseek(SEEK_END): `booted-slot = "cmdline"` read nothing on a device.
        let cmdline = try #require(try storage.readFile(FilePath("/proc/cmdline")))
        #expect(!cmdline.isEmpty)
        let mounts = try #require(ProcFile.read("/proc/self/mountinfo"))
        #expect(String(decoding: mounts, as: UTF8.self).contains(" / / "))
    }

    @Test func symlinksAreFollowedToTheirTarget() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("storage-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(
            atPath: dir + "/dev/disk/by-partlabel", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        FileManager.default.createFile(atPath: dir + "/dev/vda3", contents: Data())
        try FileManager.default.createSymbolicLink(
            atPath: dir + "/dev/disk/by-partlabel/rootfs-b", withDestinationPath: "../../vda3")
        try FileManager.default.createSymbolicLink(
            atPath: dir + "/alias", withDestinationPath: dir + "/dev/disk/by-partlabel/rootfs-b")
        #expect(try storage.resolvingSymlinks(FilePath(dir + "/alias")) == FilePath(dir + "/dev/vda3"))
        #expect(try storage.resolvingSymlinks(FilePath(dir + "/dev/./vda3")) == FilePath(dir + "/dev/vda3"))
        try FileManager.default.createSymbolicLink(atPath: dir + "/loop", withDestinationPath: dir + "/loop")
        #expect(throws: StorageError.self) { _ = try storage.resolvingSymlinks(FilePath(dir + "/loop")) }
    }
}
