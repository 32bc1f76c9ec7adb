import Foundation
import SystemPackage
import Testing

@testable import TwinslotCore

/// A partial bundle's copies from the running group, on the real file system.
@Suite struct SlotCopierTests {
    let storage = PosixStorage()

    func directory(_ label: String) throws -> String {
        let path = NSTemporaryDirectory() + "twinslot-copier-\(label)-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    @Test func aRawCopyReadsTheRecordedSizeAndRefusesAnotherHash() throws {
        let root = try directory("raw")
        let bytes = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 13) }
        FileManager.default.createFile(atPath: root + "/a.img", contents: Data(bytes + [1, 2, 3]))
        FileManager.default.createFile(atPath: root + "/b.img", contents: Data(repeating: 9, count: 500_000))
        let recorded = SHA256Hasher.hex(of: bytes)
        let copied = try SlotCopier.copyRaw(
            storage: storage, from: FilePath(root + "/a.img"), to: FilePath(root + "/b.img"), size: 300_000,
            expectedSHA256: recorded)
        #expect(copied == .init(sha256: recorded, size: 300_000))
        #expect(FileManager.default.contents(atPath: root + "/b.img") == Data(bytes), "cut to the recorded size")

        #expect(
            throws: SlotError.sourceMismatch(
                slot: root + "/a.img", recorded: recorded, actual: SHA256Hasher.hex(of: bytes + [1, 2, 3]))
        ) {
            _ = try SlotCopier.copyRaw(
                storage: storage, from: FilePath(root + "/a.img"), to: FilePath(root + "/b.img"), size: 300_003,
                expectedSHA256: recorded)
        }
        #expect(throws: SlotError.self) {
            _ = try SlotCopier.copyRaw(
                storage: storage, from: FilePath(root + "/a.img"), to: FilePath(root + "/missing.img"), size: nil,
                expectedSHA256: nil)
        }
    }

    @Test func aTreeCopyReplacesTheTargetAndKeepsTypesAndModes() throws {
        let root = try directory("tree")
        let manager = FileManager.default
        try manager.createDirectory(atPath: root + "/a/bin", withIntermediateDirectories: true)
        manager.createFile(atPath: root + "/a/bin/run", contents: Data("#!/bin/sh\n".utf8))
        try manager.setAttributes([.posixPermissions: 0o4750], ofItemAtPath: root + "/a/bin/run")
        try manager.setAttributes([.posixPermissions: 0o700], ofItemAtPath: root + "/a/bin")
        manager.createFile(atPath: root + "/a/empty", contents: Data())
        try manager.createSymbolicLink(atPath: root + "/a/link", withDestinationPath: "bin/run")
        try manager.createDirectory(atPath: root + "/b/stale", withIntermediateDirectories: true)
        manager.createFile(atPath: root + "/b/old", contents: Data("old".utf8))

        let copied = try SlotCopier.copyTree(storage: storage, from: FilePath(root + "/a"), to: FilePath(root + "/b"))
        #expect(try manager.contentsOfDirectory(atPath: root + "/b").sorted() == ["bin", "empty", "link"])
        #expect(try manager.destinationOfSymbolicLink(atPath: root + "/b/link") == "bin/run")
        let mode = try manager.attributesOfItem(atPath: root + "/b/bin/run")[.posixPermissions] as? Int
        #expect(mode == 0o750, "set-user-id dropped, the rest kept")
        #expect(try manager.attributesOfItem(atPath: root + "/b/bin")[.posixPermissions] as? Int == 0o700)
        #expect(copied.size == 10)
        let listing = try TreeListing(storage: storage, root: FilePath(root + "/b"))
        #expect(copied.sha256 == listing.digest)

        manager.createFile(atPath: root + "/b/empty", contents: Data("x".utf8))
        let changed = try TreeListing(storage: storage, root: FilePath(root + "/b"))
        #expect(listing.firstDifference(from: changed) == "empty")
    }
}
