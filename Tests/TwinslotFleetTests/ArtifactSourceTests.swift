import Foundation
import TestSupport
import Testing
import TwinslotCore

@testable import TwinslotFleet

/// A download checked against the size and digests a DDI server announced, at `finish()`.
@Suite struct ArtifactSourceTests {
    final class BytesSource: ByteSource {
        let name = "memory"
        var bytes: [UInt8]
        init(_ bytes: [UInt8]) { self.bytes = bytes }
        func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
            let n = min(buffer.count, bytes.count)
            bytes.withUnsafeBytes { buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[..<n])) }
            bytes.removeFirst(n)
            return n
        }
    }

    static let payload = Array("twinslot artifact".utf8)

    func drained(_ source: ArtifactSource) throws {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 5, alignment: 1)
        defer { buffer.deallocate() }
        _ = try source.read(into: buffer)  // the reader takes a little; finish() reads the rest
        try source.finish()
    }

    @Test func theAnnouncedSizeAndDigestsPass() throws {
        let hashes = [
            "sha256": SHA256Hasher.hex(of: Self.payload), "md5": try Self.digest("md5"),
            "sha1": try Self.digest("sha1"),
        ]
        try drained(ArtifactSource(BytesSource(Self.payload), size: UInt64(Self.payload.count), hashes: hashes))
    }

    @Test func anotherSizeIsRefused() {
        let source = ArtifactSource(BytesSource(Self.payload), size: 99, hashes: [:])
        #expect(throws: FleetError.self) { try drained(source) }
    }

    @Test func anotherDigestIsRefusedAsABadBundle() throws {
        let source = ArtifactSource(
            BytesSource(Self.payload), size: UInt64(Self.payload.count),
            hashes: ["sha1": String(repeating: "0", count: 40)])
        do {
            try drained(source)
            Issue.record("a wrong sha1 passed")
        } catch let error as FleetError {
            #expect(error.failureClass == .badBundle)
            guard case .artifactMismatch(_, let what, _, let actual) = error else {
                Issue.record("\(error)")
                return
            }
            #expect(what == "sha1")
            #expect(actual == (try Self.digest("sha1")))
        }
    }

    /// The digest as the openssl tool computes it: an independent reference.
    static func digest(_ name: String) throws -> String {
        let path = TestEnvironment.temporaryDirectory("artifact") + "/payload"
        try Data(payload).write(to: URL(fileURLWithPath: path))
        let result = try TestEnvironment.run("/usr/bin/openssl", ["dgst", "-\(name)", "-r", path])
        return String(result.stdout.prefix { $0 != " " })
    }
}
