import Testing

@testable import TwinslotCore

/// Known answers of XXH3-64 (seed 0) from an independent build of xxHash (python-xxhash 4.1.0,
/// which bundles xxHash 0.8.4), against Debian's libxxhash that `RegionHash` calls.
@Suite struct RegionHashTests {
    static let data: [UInt8] = (0..<1000).map { UInt8(($0 * 31 + 7) % 251) }

    @Test func knownAnswers() {
        #expect(RegionHash.hash([]) == 0x2D06_8005_38D3_94C2)
        #expect(RegionHash.hash(Array("abc".utf8)) == 0x78AF_5F94_892F_3950)
        #expect(RegionHash.hash(Self.data) == 0x84B0_C79E_3E1A_C40E)
        #expect(RegionHash.hash(Array(Self.data[..<37])) == 0x65F3_22FF_9F80_60D5)
    }

    @Test func streamingInAnyPiecesGivesTheSameHash() {
        let hasher = RegionHash()
        for pieces in [1, 3, 31, 32, 33, 100, 999] {
            hasher.reset()
            var offset = 0
            while offset < Self.data.count {
                let end = min(offset + pieces, Self.data.count)
                Array(Self.data[offset..<end]).withUnsafeBytes { hasher.update($0) }
                offset = end
            }
            #expect(hasher.finalize() == 0x84B0_C79E_3E1A_C40E, "pieces of \(pieces)")
        }
    }
}
