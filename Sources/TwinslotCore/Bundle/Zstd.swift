import CZstd

/// A streaming zstd decoder whose memory is bounded by `maxWindowLog`, whatever the input says:
/// a hostile frame asking for a larger window is refused instead of allocated.
public final class ZstdDecoder {
    public static let maxWindowLog: Int32 = 24

    private let context: OpaquePointer

    public init() {
        guard let context = ZSTD_createDCtx() else { fatalError("ZSTD_createDCtx: out of memory") }
        self.context = context
        _ = ZSTD_DCtx_setParameter(context, ZSTD_d_windowLogMax, Self.maxWindowLog)
    }

    deinit { ZSTD_freeDCtx(context) }

    public func reset() {
        _ = ZSTD_DCtx_reset(context, ZSTD_reset_session_only)
    }

    /// Decodes from `input` (advancing `inputOffset`) into `output` from `outputOffset` on.
    /// Returns zstd's hint: 0 when a frame is complete and fully flushed.
    public func decode(
        input: UnsafeRawBufferPointer, inputOffset: inout Int,
        output: UnsafeMutableRawBufferPointer, outputOffset: inout Int
    ) throws -> Int {
        var inBuffer = ZSTD_inBuffer(src: input.baseAddress, size: input.count, pos: inputOffset)
        var outBuffer = ZSTD_outBuffer(dst: output.baseAddress, size: output.count, pos: outputOffset)
        let hint = ZSTD_decompressStream(context, &outBuffer, &inBuffer)
        if ZSTD_isError(hint) != 0 {
            throw ZstdError(message: String(cString: ZSTD_getErrorName(hint)))
        }
        inputOffset = inBuffer.pos
        outputOffset = outBuffer.pos
        return hint
    }
}

/// A streaming zstd encoder that uses `workers` threads (zstd's multi-threaded API).
public final class ZstdEncoder {
    private let context: OpaquePointer

    public init(level: Int32, workers: Int32, pledgedSize: UInt64?) throws {
        guard let context = ZSTD_createCCtx() else { fatalError("ZSTD_createCCtx: out of memory") }
        self.context = context
        try check(ZSTD_CCtx_setParameter(context, ZSTD_c_compressionLevel, level))
        try check(ZSTD_CCtx_setParameter(context, ZSTD_c_checksumFlag, 1))
        try check(ZSTD_CCtx_setParameter(context, ZSTD_c_windowLog, min(ZstdDecoder.maxWindowLog, 21)))
        if workers > 1 {
            // A libzstd built without threads refuses this; it then compresses on one thread.
            _ = ZSTD_CCtx_setParameter(context, ZSTD_c_nbWorkers, workers)
        }
        if let pledgedSize { try check(ZSTD_CCtx_setPledgedSrcSize(context, pledgedSize)) }
    }

    deinit { ZSTD_freeCCtx(context) }

    /// Declares the next frame's uncompressed size (written into its header). Only at a frame's
    /// start: before any input, or after `encode(_:end: true, …)`.
    public func pledge(_ size: UInt64) throws {
        try check(ZSTD_CCtx_setPledgedSrcSize(context, size))
    }

    private func check(_ code: Int) throws {
        if ZSTD_isError(code) != 0 { throw ZstdError(message: String(cString: ZSTD_getErrorName(code))) }
    }

    /// Feeds `input` and hands every produced block to `emit`. With `end`, finishes the frame;
    /// the next input starts a new, independent frame.
    public func encode(
        _ input: UnsafeRawBufferPointer, end: Bool, scratch: UnsafeMutableRawBufferPointer,
        emit: (UnsafeRawBufferPointer) throws -> Void
    ) throws {
        var inBuffer = ZSTD_inBuffer(src: input.baseAddress, size: input.count, pos: 0)
        while true {
            var outBuffer = ZSTD_outBuffer(dst: scratch.baseAddress, size: scratch.count, pos: 0)
            let remaining = ZSTD_compressStream2(context, &outBuffer, &inBuffer, end ? ZSTD_e_end : ZSTD_e_continue)
            try check(remaining)
            if outBuffer.pos > 0 { try emit(UnsafeRawBufferPointer(rebasing: scratch[..<outBuffer.pos])) }
            if end ? remaining == 0 : inBuffer.pos == inBuffer.size { return }
        }
    }
}

public struct ZstdError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { "zstd: \(message)" }
}
