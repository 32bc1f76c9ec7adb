import Foundation
import SystemPackage
import Testing

@testable import TwinslotCore

/// The bundle's own tar: member types libarchive reads as regular files, and bytes after the
/// end-of-archive marker, are refused (docs/bundle-format.md, "Tar rules").
@Suite struct TarRulesTests {
    let parts: BundleParts

    init() throws { parts = try BundleParts.make() }

    func violation(_ bytes: [UInt8]) -> TarFormatViolation? {
        guard case .tarFormat(let violation) = verifyError(parts.write(bytes)) as? BundleError else { return nil }
        return violation
    }

    @Test(arguments: [TarBuilder.TypeFlag.contiguous, .gnuSparse])
    func aContiguousOrSparseImageMember(type: TarBuilder.TypeFlag) {
        var builder = parts.builder
        builder.members[2].type = type
        let found = violation(builder.bytes())
        #expect(found?.kind == .memberType)
        #expect(found?.entry == builder.members[2].name)
        #expect(found?.reason.contains(type == .contiguous ? "contiguous file (type '7')" : "sparse") == true)
    }

    @Test func aContiguousManifest() {
        var builder = parts.builder
        builder.members[0].type = .contiguous
        #expect(violation(builder.bytes())?.entry == Manifest.memberName)
    }

    @Test func dataAfterTheEndMarker() {
        let bytes = parts.builder.bytes()
        #expect(violation(bytes + [0x41])?.kind == .trailingData)
        #expect(violation(bytes + [UInt8](repeating: 0, count: 100) + [1])?.kind == .trailingData)
        // A second archive appended after the first.
        #expect(violation(bytes + parts.builder.bytes())?.kind == .trailingData)
    }

    @Test func zeroPaddingToTheRecordIsAllowedAndNoFurther() {
        let bytes = parts.builder.bytes()
        let record = (bytes.count + 10239) / 10240 * 10240
        #expect(verifyError(parts.write(bytes + [UInt8](repeating: 0, count: record - bytes.count))) == nil)
        let beyond = bytes + [UInt8](repeating: 0, count: record - bytes.count + 512)
        #expect(violation(beyond)?.kind == .trailingData)
    }

    @Test func oneEndBlockIsTruncated() {
        let bytes = parts.builder.bytes()
        let error = verifyError(parts.write(Array(bytes.dropLast(512)))) as? BundleError
        guard case .truncated = error else {
            Issue.record("got \(String(describing: error))")
            return
        }
    }

    @Test func theRulesCoverTheRealTarToo() throws {
        // GNU tar's output (padded to its record) verifies.
        let directory = parts.directory + "/gnu"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        for (name, data) in [(Manifest.memberName, parts.manifest), (Manifest.signatureMemberName, parts.signature)]
            + parts.images
        {
            Fixtures.write(data, to: directory + "/" + name)
        }
        let names = [Manifest.memberName, Manifest.signatureMemberName] + parts.images.map(\.name)
        let tar = Process()
        tar.executableURL = URL(fileURLWithPath: "/usr/bin/tar")
        tar.arguments = ["--format=gnu", "-C", directory, "-cf", parts.directory + "/gnu.tsb"] + names
        try tar.run()
        tar.waitUntilExit()
        #expect(tar.terminationStatus == 0)
        #expect(verifyError(parts.directory + "/gnu.tsb") == nil)
    }
}

/// The directory tree written to a slot is the signed image: the spool is hashed again as it is
/// extracted, and a spool that changed between write and extraction is an I/O error.
@Suite struct DirectorySpoolBindingTests {
    func image() throws -> (bytes: [UInt8], sha256: String) {
        var builder = TarBuilder()
        builder.members = [
            .init(name: "bin/", data: [], type: .directory),
            .init(name: "bin/run", data: Array("#!/bin/sh\necho signed\n".utf8)),
        ]
        let bytes = builder.bytes()
        return (bytes, SHA256Hasher.hex(of: bytes))
    }

    func spool(_ bytes: [UInt8], root: String) throws -> DirectorySlotWriter {
        let writer = try DirectorySlotWriter(
            storage: PosixStorage(), slot: FilePath(root + "/slot"), size: UInt64(bytes.count))
        try bytes.withUnsafeBytes { try writer.write($0, at: 0) }
        return writer
    }

    @Test func theSignedImageExtracts() throws {
        let root = Fixtures.temporaryDirectory("spool-ok")
        let (bytes, sha256) = try image()
        let writer = try spool(bytes, root: root)
        try writer.finish(size: UInt64(bytes.count), sha256: sha256, member: "apps.tar.zst")
        try writer.verifyReadBack()
        #expect(FileManager.default.contents(atPath: root + "/slot/bin/run") == Data("#!/bin/sh\necho signed\n".utf8))
    }

    @Test func aSpoolSwappedBeforeExtractionIsCaught() throws {
        let root = Fixtures.temporaryDirectory("spool-swap")
        let (bytes, sha256) = try image()
        let writer = try spool(bytes, root: root)
        // The medium (or someone) changes the spool after it was hashed: same size, same tar
        // structure, other content.
        var swapped = bytes
        let at = TarBuilder(members: [.init(name: "bin/", data: [], type: .directory)]).bytes(endBlocks: false).count
        swapped[at + 512 + 15] = UInt8(ascii: "X")
        Fixtures.write(swapped, to: root + "/slot.image.tar")
        do {
            try writer.finish(size: UInt64(bytes.count), sha256: sha256, member: "apps.tar.zst")
            Issue.record("a swapped spool was extracted")
        } catch let error as SlotError {
            guard case .readBackMismatch = error else { Issue.record("got \(error)"); return }
            #expect(error.failureClass == .io)
        }
    }

    @Test func aSpoolBrokenIntoNotATarIsAnIOError() throws {
        let root = Fixtures.temporaryDirectory("spool-garbage")
        let (bytes, sha256) = try image()
        let writer = try spool(bytes, root: root)
        Fixtures.write([UInt8](repeating: 0x5a, count: bytes.count), to: root + "/slot.image.tar")
        #expect(throws: SlotError.self) {
            try writer.finish(size: UInt64(bytes.count), sha256: sha256, member: "apps.tar.zst")
        }
    }
}

/// The raw header walk itself: what libarchive would read as a plain regular file.
@Suite struct TarHeaderCheckTests {
    func header(type: UInt8, size: Int, name: String = "m") -> [UInt8] {
        var block = TarBuilder.header(.init(name: name, data: [UInt8](repeating: 0, count: size)))
        block[156] = type
        return block
    }

    func problem(_ bytes: [UInt8]) -> String? {
        do {
            try TarHeaderCheck.check(headerAt: 0, entry: "m") { offset, count in
                Int(offset) + count <= bytes.count ? Array(bytes[Int(offset)..<(Int(offset) + count)]) : nil
            }
            return nil
        } catch {
            return (error as? TarFormatViolation)?.reason
        }
    }

    func pax(_ record: String) -> [UInt8] {
        let data = Array(record.utf8)
        return header(type: UInt8(ascii: "x"), size: data.count) + data
            + [UInt8](repeating: 0, count: (512 - data.count % 512) % 512)
    }

    @Test func paxSparseRecordsAreRefused() {
        let bytes = pax("22 GNU.sparse.major=1\n") + header(type: UInt8(ascii: "0"), size: 0)
        #expect(problem(bytes)?.contains("pax GNU.sparse records") == true)
    }

    @Test func aPaxLongNameBeforeARegularFileIsFine() {
        let bytes = pax("30 path=a/very/long/name/here\n") + header(type: UInt8(ascii: "0"), size: 0)
        #expect(problem(bytes) == nil)
    }

    @Test func typesOutsideZeroToSixAreRefused() {
        for type in Array("7SVMDAZ".utf8) + [0x01] {
            #expect(problem(header(type: type, size: 0)) != nil, "type \(type)")
        }
        for type in Array("0123456".utf8) + [0] {
            #expect(problem(header(type: type, size: 0)) == nil, "type \(type)")
        }
    }

    @Test func numericFields() {
        #expect(TarHeaderCheck.octalOrBase256(ArraySlice(Array("00000001750\0".utf8))) == 0o1750)
        #expect(TarHeaderCheck.octalOrBase256(ArraySlice(Array("  1750 \0\0\0\0\0".utf8))) == 0o1750)
        let base256: [UInt8] = [0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0x02, 0, 0]
        #expect(TarHeaderCheck.octalOrBase256(ArraySlice(base256)) == 0x20000)
        #expect(TarHeaderCheck.octalOrBase256(ArraySlice(Array("0000000019\0\0".utf8))) == nil)
    }
}
