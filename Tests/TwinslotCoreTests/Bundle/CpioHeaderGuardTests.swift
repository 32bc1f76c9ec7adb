import Foundation
import Testing

@testable import TwinslotCore

/// A cpio header's name size is checked before libarchive reads it (fuzz targets `swu` and
/// `bundle`: libarchive allocated and read ahead up to 4 GiB for the name of a tampered .swu's
/// first member, before its signature was checked).
@Suite struct CpioHeaderGuardTests {
    final class Bytes: ByteSource {
        let name = "test.swu"
        private let bytes: [UInt8]
        private var offset = 0
        init(_ bytes: [UInt8]) { self.bytes = bytes }
        func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
            let n = min(buffer.count, bytes.count - offset)
            for i in 0..<n { buffer[i] = bytes[offset + i] }
            offset += n
            return n
        }
    }

    /// A `newc` member: header, NUL-terminated name and data, each padded to 4 bytes;
    /// `nameSize` overrides the header's name size field.
    static func member(_ name: String, _ data: [UInt8], nameSize: UInt32? = nil) -> [UInt8] {
        func hex(_ value: UInt32) -> String {
            let digits = String(value, radix: 16, uppercase: true)
            return String(repeating: "0", count: 8 - digits.count) + digits
        }
        let fields: [UInt32] = [1, 0o100644, 0, 0, 1, 0, UInt32(data.count), 0, 0, 0, 0]
        let header = "070701" + fields.map(hex).joined() + hex(nameSize ?? UInt32(name.utf8.count + 1)) + hex(0)
        var bytes = Array(header.utf8) + Array(name.utf8) + [0]
        while bytes.count % 4 != 0 { bytes.append(0) }
        bytes += data
        while bytes.count % 4 != 0 { bytes.append(0) }
        return bytes
    }

    static func archive(_ members: [[UInt8]]) -> [UInt8] {
        members.joined() + member("TRAILER!!!", [])
    }

    func names(_ bytes: [UInt8]) throws -> [String] {
        let reader = try TarStreamReader(source: Bytes(bytes), format: .cpio)
        var names: [String] = []
        while let entry = try reader.nextEntry() {
            names.append(entry.name)
            while try reader.nextBlock() != nil {}
        }
        return names
    }

    @Test func realArchivesReadAsBefore() throws {
        let long = String(repeating: "d/", count: 500) + "image.img"
        let bytes = Self.archive([
            Self.member("sw-description", Array("software = { version = \"1\"; };".utf8)),
            Self.member("sw-description.sig", [1, 2, 3]), Self.member(long, [UInt8](repeating: 7, count: 300_001)),
        ])
        #expect(try names(bytes) == ["sw-description", "sw-description.sig", long])
    }

    @Test(arguments: [0, 1, 2])
    func aHugeNameSizeIsRefusedBeforeLibarchiveReadsIt(_ index: Int) throws {
        var members = [
            Self.member("sw-description", Array("x".utf8)), Self.member("sw-description.sig", [1]),
            Self.member("rootfs.img", [UInt8](repeating: 1, count: 1000)),
        ]
        members[index] = Self.member(index == 0 ? "sw-description" : "m", [9], nameSize: 0xF000_0000)
        let error = #expect(throws: TarFormatViolation.self) { try names(Self.archive(members)) }
        #expect(error?.kind == .nameSize)
        #expect(error?.reason.contains("declares a 4026531840-byte name") == true, "\(String(describing: error))")
    }

    /// libarchive skipped junk to the next magic and read the header it found there.
    @Test func junkBeforeAHeaderIsRefusedNotSkipped() throws {
        let bytes =
            Self.member("sw-description", Array("x".utf8)) + Array("junk".utf8)
            + Self.archive([Self.member("m", [9], nameSize: 0xEEEE_EEEE)])
        let error = #expect(throws: TarFormatViolation.self) { try names(bytes) }
        #expect(
            error?.reason.contains("no cpio newc or crc member header at byte 132") == true,
            "\(String(describing: error))")
    }

    /// libarchive reads a field up to its first non-hex character: "00000%00" meant one size
    /// to it and none to the guard, and the two walks parted (the `swu` fuzz target's second
    /// finding: libarchive then allocated 2.5 GB).
    @Test func aHeaderFieldThatIsNotHexIsRefused() throws {
        var bytes = Self.archive([Self.member("sw-description", Array("x".utf8))])
        bytes[6 + 8 * 3 + 5] = UInt8(ascii: "%")  // c_gid
        let error = #expect(throws: TarFormatViolation.self) { try names(bytes) }
        #expect(
            error?.reason.contains("no cpio newc or crc member header at byte 0") == true,
            "\(String(describing: error))")
    }

    @Test func theFuzzersReproducerIsRefused() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../../fixtures/fuzz/swu/regression-oom-4b7bfc05").standardized
        let bytes = try [UInt8](Data(contentsOf: url))
        #expect(throws: TarFormatViolation.self) {
            try SwuReader(source: Bytes(bytes), target: nil).readManifest(keyring: nil)
        }
    }

    /// A symbolic link's target is its data, which libarchive reads into memory whole.
    @Test func aHugeSymlinkTargetIsRefused() throws {
        var link = Self.member("link", [UInt8](repeating: 0x61, count: 8))
        let size = Array("F0000000".utf8)
        link.replaceSubrange((6 + 8 * 6)..<(6 + 8 * 7), with: size)  // c_filesize
        link.replaceSubrange((6 + 8)..<(6 + 8 * 2), with: Array("0000A1FF".utf8))  // c_mode: symlink
        let error = #expect(throws: TarFormatViolation.self) { try names(Self.archive([link])) }
        #expect(error?.reason.contains("symbolic link target") == true, "\(String(describing: error))")
    }

    /// Through the .swu reader, as `bundle verify` and install read it: exit 10, bad bundle.
    @Test func theSwuReaderRefusesItAsABadBundle() throws {
        let bytes = Self.archive([Self.member("sw-description", Array("x".utf8), nameSize: 0xDDDD_DDDD)])
        let error = #expect(throws: TarFormatViolation.self) {
            try SwuReader(source: Bytes(bytes), target: nil).readManifest(keyring: nil)
        }
        #expect(error?.failureClass == .badBundle)
    }
}
