import Foundation
import SystemPackage
import TestSupport
import Testing

@testable import TwinslotCore

/// The raw slot read-back: regions verified while the image streams, and the whole-image
/// SHA-256 fallback.
@Suite struct ReadBackTests {
    let directory = TestEnvironment.temporaryDirectory("readback")
    let storage = PosixStorage()

    func image(_ count: Int) -> [UInt8] {
        var state: UInt64 = 0x1234_5678
        return (0..<count).map { _ in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return UInt8(truncatingIfNeeded: state >> 33)
        }
    }

    @Test func regionsWrittenInOddPiecesVerify() throws {
        let bytes = image(2 * Int(RawSlotWriter.writeBackInterval) + 12_345)
        let path = FilePath(directory + "/slot.img")
        FileManager.default.createFile(atPath: path.string, contents: nil)
        let writer = try RawSlotWriter(storage: storage, path: path, size: UInt64(bytes.count))
        var offset = 0
        var piece = 1
        while offset < bytes.count {
            let end = min(bytes.count, offset + piece * 7919)
            try bytes[offset..<end].withUnsafeBytes { try writer.write($0, at: UInt64(offset)) }
            offset = end
            piece = piece % 97 + 1
        }
        try writer.finish(size: UInt64(bytes.count))
        try writer.verifyReadBack(size: UInt64(bytes.count), sha256: SHA256Hasher.hex(of: bytes))
        try writer.close()
    }

    @Test func outOfOrderWritesFallBackToTheWholeImageHash() throws {
        let bytes = image(300_000)
        let path = FilePath(directory + "/slot2.img")
        FileManager.default.createFile(atPath: path.string, contents: nil)
        let writer = try RawSlotWriter(storage: storage, path: path, size: UInt64(bytes.count))
        try bytes[150_000...].withUnsafeBytes { try writer.write($0, at: 150_000) }
        try bytes[..<150_000].withUnsafeBytes { try writer.write($0, at: 0) }
        try writer.finish(size: UInt64(bytes.count))
        try writer.verifyReadBack(size: UInt64(bytes.count), sha256: SHA256Hasher.hex(of: bytes))
        #expect(throws: SlotError.self) {
            try writer.verifyReadBack(size: UInt64(bytes.count), sha256: String(repeating: "0", count: 64))
        }
        try writer.close()
    }

    @Test func aRegionThatReadsBackDifferentlyIsCaught() throws {
        let bytes = image(100_000)
        let path = FilePath(directory + "/slot3.img")
        FileManager.default.createFile(atPath: path.string, contents: Data(bytes))
        let file = try storage.open(path, create: false)
        defer { try? file.close() }
        let good = ReadBackVerifier(file: file)
        good.verify(.init(offset: 0, length: 50_000, checksum: RegionHash.hash(Array(bytes[..<50_000]))))
        good.verify(.init(offset: 50_000, length: 50_000, checksum: RegionHash.hash(Array(bytes[50_000...]))))
        #expect(try good.finish() == 100_000)

        var changed = Array(bytes[50_000...])
        changed[777] ^= 1
        let bad = ReadBackVerifier(file: file)
        bad.verify(.init(offset: 0, length: 50_000, checksum: RegionHash.hash(Array(bytes[..<50_000]))))
        bad.verify(.init(offset: 50_000, length: 50_000, checksum: RegionHash.hash(changed)))
        #expect(throws: SlotError.regionMismatch(slot: path.string, offset: 50_000, length: 50_000)) {
            try bad.finish()
        }
    }
}
