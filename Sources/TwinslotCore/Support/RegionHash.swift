import CXXHash

/// XXH3 (64-bit) from libxxhash, streaming: the read-back's checksum of one region, compared
/// between what the slot writer handed to the medium and what the medium returns
/// (docs/architecture.md, "Reading back while writing"). Never stored: both sides are computed
/// by the same process during one install, so the algorithm may change between versions; XXH3
/// replaced a hand-written XXH64 for speed (libxxhash's XXH3 uses SSE2/AVX2 or NEON).
///
/// A class because the state (`XXH3_state_t`, 64-byte aligned, about 600 bytes) is allocated by
/// libxxhash and must be freed exactly once; it is owned by one writer or one verifier thread.
final class RegionHash {
    private let state: OpaquePointer

    init() {
        guard let state = XXH3_createState() else { fatalError("XXH3_createState: out of memory") }
        self.state = state
        XXH3_64bits_reset(state)
    }

    deinit { XXH3_freeState(state) }

    /// Starts a new region.
    func reset() { XXH3_64bits_reset(state) }

    func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        XXH3_64bits_update(state, base, bytes.count)
    }

    func finalize() -> UInt64 { XXH3_64bits_digest(state) }

    /// The checksum of `bytes` in one call (libxxhash's one-shot XXH3, equal to streaming).
    static func hash(_ bytes: [UInt8]) -> UInt64 {
        bytes.withUnsafeBytes { XXH3_64bits($0.baseAddress, $0.count) }
    }
}
