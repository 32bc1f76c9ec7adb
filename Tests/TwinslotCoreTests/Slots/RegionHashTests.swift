import Testing

@testable import TwinslotCore

/// Known answers from the reference implementation (python-xxhash 4.1).
@Suite struct XXHash64Tests {
    static let data: [UInt8] = (0..<1000).map { UInt8(($0 * 31 + 7) % 251) }

    @Test func knownAnswers() {
        #expect(XXHash64.hash([]) == 0xEF46_DB37_51D8_E999)
        #expect(XXHash64.hash(Array("abc".utf8)) == 0x44BC_2CF5_AD77_0999)
        #expect(XXHash64.hash(Self.data) == 0x9E33_00C1_CDE3_C58D)
        #expect(XXHash64.hash(Self.data, seed: 5) == 0x6772_3FB3_8188_F137)
        #expect(XXHash64.hash(Array(Self.data[..<37])) == 0x8BB9_2818_8214_27DF)
    }

    @Test func streamingInAnyPiecesGivesTheSameHash() {
        for pieces in [1, 3, 31, 32, 33, 100, 999] {
            var hasher = XXHash64()
            var offset = 0
            while offset < Self.data.count {
                let end = min(offset + pieces, Self.data.count)
                Array(Self.data[offset..<end]).withUnsafeBytes { hasher.update($0) }
                offset = end
            }
            #expect(hasher.finalize() == 0x9E33_00C1_CDE3_C58D, "pieces of \(pieces)")
        }
    }
}
