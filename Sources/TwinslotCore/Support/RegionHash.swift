/// XXH64 (Yann Collet's xxHash, 64-bit), streaming. A fast non-cryptographic checksum: the
/// read-back compares what the medium returns with what was written region by region, where
/// the signed SHA-256 already vouched for the bytes written (docs/architecture.md).
struct XXHash64 {
    private static let prime1: UInt64 = 0x9E37_79B1_85EB_CA87
    private static let prime2: UInt64 = 0xC2B2_AE3D_27D4_EB4F
    private static let prime3: UInt64 = 0x1656_67B1_9E37_79F9
    private static let prime4: UInt64 = 0x85EB_CA77_C2B2_AE63
    private static let prime5: UInt64 = 0x27D4_EB2F_1656_67C5

    private var lanes: (UInt64, UInt64, UInt64, UInt64)
    private var tail: [UInt8] = []
    private var total: UInt64 = 0
    private let seed: UInt64

    init(seed: UInt64 = 0) {
        self.seed = seed
        lanes = (seed &+ Self.prime1 &+ Self.prime2, seed &+ Self.prime2, seed, seed &- Self.prime1)
        tail.reserveCapacity(32)
    }

    @inline(__always) private static func rotate(_ x: UInt64, _ r: UInt64) -> UInt64 { (x << r) | (x >> (64 - r)) }

    @inline(__always) private static func round(_ acc: UInt64, _ input: UInt64) -> UInt64 {
        rotate(acc &+ input &* prime2, 31) &* prime1
    }

    @inline(__always) private static func merge(_ acc: UInt64, _ lane: UInt64) -> UInt64 {
        (acc ^ round(0, lane)) &* prime1 &+ prime4
    }

    @inline(__always) private static func load64(_ base: UnsafeRawPointer, _ offset: Int) -> UInt64 {
        UInt64(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }

    mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard var base = bytes.baseAddress, bytes.count > 0 else { return }
        var count = bytes.count
        total &+= UInt64(count)
        if !tail.isEmpty {
            let take = min(32 - tail.count, count)
            tail.append(contentsOf: UnsafeRawBufferPointer(start: base, count: take))
            base += take
            count -= take
            guard tail.count == 32 else { return }
            tail.withUnsafeBytes { stripe($0.baseAddress!) }
            tail.removeAll(keepingCapacity: true)
        }
        var (v1, v2, v3, v4) = lanes
        var offset = 0
        while offset + 32 <= count {
            v1 = Self.round(v1, Self.load64(base, offset))
            v2 = Self.round(v2, Self.load64(base, offset + 8))
            v3 = Self.round(v3, Self.load64(base, offset + 16))
            v4 = Self.round(v4, Self.load64(base, offset + 24))
            offset += 32
        }
        lanes = (v1, v2, v3, v4)
        if offset < count {
            tail.append(contentsOf: UnsafeRawBufferPointer(start: base + offset, count: count - offset))
        }
    }

    private mutating func stripe(_ base: UnsafeRawPointer) {
        lanes = (
            Self.round(lanes.0, Self.load64(base, 0)), Self.round(lanes.1, Self.load64(base, 8)),
            Self.round(lanes.2, Self.load64(base, 16)), Self.round(lanes.3, Self.load64(base, 24))
        )
    }

    func finalize() -> UInt64 {
        var hash: UInt64
        if total >= 32 {
            let (v1, v2, v3, v4) = lanes
            hash = Self.rotate(v1, 1) &+ Self.rotate(v2, 7) &+ Self.rotate(v3, 12) &+ Self.rotate(v4, 18)
            hash = Self.merge(hash, v1)
            hash = Self.merge(hash, v2)
            hash = Self.merge(hash, v3)
            hash = Self.merge(hash, v4)
        } else {
            hash = seed &+ Self.prime5
        }
        hash &+= total
        tail.withUnsafeBytes { raw in
            guard let base = raw.baseAddress else { return }
            var offset = 0
            let count = raw.count
            while offset + 8 <= count {
                hash ^= Self.round(0, Self.load64(base, offset))
                hash = Self.rotate(hash, 27) &* Self.prime1 &+ Self.prime4
                offset += 8
            }
            if offset + 4 <= count {
                let word = UInt64(UInt32(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
                hash ^= word &* Self.prime1
                hash = Self.rotate(hash, 23) &* Self.prime2 &+ Self.prime3
                offset += 4
            }
            while offset < count {
                hash ^= UInt64(raw[offset]) &* Self.prime5
                hash = Self.rotate(hash, 11) &* Self.prime1
                offset += 1
            }
        }
        hash ^= hash >> 33
        hash &*= Self.prime2
        hash ^= hash >> 29
        hash &*= Self.prime3
        hash ^= hash >> 32
        return hash
    }

    static func hash(_ bytes: [UInt8], seed: UInt64 = 0) -> UInt64 {
        var hasher = XXHash64(seed: seed)
        bytes.withUnsafeBytes { hasher.update($0) }
        return hasher.finalize()
    }
}
