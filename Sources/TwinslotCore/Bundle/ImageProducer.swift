/// The producing half of an image stream, shared by every bundle format: reads a member's
/// blocks, hands a copy of each to the pipeline for the member hash, decodes it (zstd) or passes
/// it through (an uncompressed member), and stops at the first byte beyond the allowed size.
struct ImageProducer {
    /// How large the decoded image may be.
    enum SizeRule {
        /// The bundle declares the size: exceeding it or ending short is a bad bundle.
        case exactly(UInt64)
        /// The bundle does not declare it (SWUpdate): anything up to `limit`, a hard cap (the
        /// target slot's capacity or a maximum) that stops a decompression bomb.
        case atMost(UInt64)
    }

    var member: String
    var compressedSize: UInt64
    var zstd: Bool
    var size: SizeRule
    /// The member's next block of data, nil at its end; errors come out already classified.
    var nextBlock: () throws -> UnsafeRawBufferPointer?

    /// Runs the image through a fresh pipeline into `sink` (nil: hash only) and returns what the
    /// consumer saw. The sink may have received bytes when this throws. Both readers stream
    /// through here, so the pipeline's consumer is ended exactly once on every path: finishing a
    /// second time (after a sink error came out of the first finish) would wait forever.
    func stream(into sink: (any ImageSink)?) throws -> ImageDigest {
        let pipeline = ImagePipeline(sink: sink)
        pipeline.start()
        var producerError: (any Error)?
        do { try produce(into: pipeline) } catch { producerError = error }
        // The consumer thread ends exactly once, on the end message, whatever happened.
        let finished = Result { try pipeline.finish() }
        if let producerError {
            // A sink failure stops the producer too; the sink's error is the one that explains it.
            if case .failure(let sinkError) = finished { throw sinkError }
            throw producerError
        }
        return try finished.get()
    }

    func produce(into pipeline: ImagePipeline) throws {
        let decoder = zstd ? ZstdDecoder() : nil
        var produced: UInt64 = 0
        var consumed: UInt64 = 0
        var output = try pipeline.takeFreeBuffer()
        var frameComplete = false
        func checkLimit() throws {
            switch size {
            case .exactly(let declared) where produced > declared:
                throw BundleError.inflatesBeyondDeclared(member: member, declared: declared)
            case .atMost(let limit) where produced > limit:
                throw BundleError.exceedsLimit(member: member, limit: limit)
            default: break
            }
        }
        while true {
            let block: UnsafeRawBufferPointer
            do {
                guard let next = try nextBlock() else { break }
                block = next
            } catch {
                pipeline.send(.decompressed(output))
                throw error
            }
            // Hand a copy of the compressed bytes to the hashing thread.
            var copied = 0
            while copied < block.count {
                let copy = try pipeline.takeFreeBuffer()
                let n = min(copy.memory.count, block.count - copied)
                copy.memory.copyMemory(from: UnsafeRawBufferPointer(rebasing: block[copied..<(copied + n)]))
                copy.count = n
                pipeline.send(.compressed(copy))
                copied += n
            }
            guard let decoder else {
                // Stored as is: the image is the member.
                var offset = 0
                while offset < block.count {
                    let n = min(output.memory.count - output.count, block.count - offset)
                    (output.memory.baseAddress! + output.count).copyMemory(
                        from: block.baseAddress! + offset, byteCount: n)
                    output.count += n
                    offset += n
                    produced += UInt64(n)
                    do { try checkLimit() } catch {
                        pipeline.send(.decompressed(output))
                        throw error
                    }
                    if output.count == output.memory.count {
                        pipeline.send(.decompressed(output))
                        output = try pipeline.takeFreeBuffer()
                    }
                }
                consumed += UInt64(block.count)
                continue
            }
            var inputOffset = 0
            while true {
                var outputOffset = output.count
                let inputBefore = inputOffset
                let hint: Int
                do {
                    hint = try decoder.decode(
                        input: block, inputOffset: &inputOffset, output: output.memory, outputOffset: &outputOffset)
                } catch {
                    pipeline.send(.decompressed(output))
                    throw BundleError.corruptPayload(
                        member: member, offset: consumed + UInt64(inputOffset), detail: "\(error)")
                }
                // A call that moved nothing (after a frame ended exactly at a full buffer) says
                // nothing about the frame: zstd then answers with the next header's size.
                if inputOffset != inputBefore || outputOffset != output.count { frameComplete = hint == 0 }
                produced += UInt64(outputOffset - output.count)
                output.count = outputOffset
                do { try checkLimit() } catch {
                    pipeline.send(.decompressed(output))
                    throw error
                }
                // A full output buffer may leave decoded bytes inside zstd: call again even when
                // the input is used up. Otherwise everything this input yields has been flushed.
                if output.count == output.memory.count {
                    pipeline.send(.decompressed(output))
                    output = try pipeline.takeFreeBuffer()
                } else if inputOffset == block.count {
                    break
                }
            }
            consumed += UInt64(block.count)
        }
        pipeline.send(.decompressed(output))
        guard consumed == compressedSize else {
            throw BundleError.truncated(
                member: member, detail: "\(consumed) of \(compressedSize) compressed bytes present")
        }
        guard decoder == nil || frameComplete || compressedSize == 0 else {
            throw BundleError.corruptPayload(
                member: member, offset: consumed, detail: "the zstd frame ends before it is complete")
        }
        if case .exactly(let declared) = size, produced != declared {
            throw BundleError.imageSizeMismatch(member: member, declared: declared, actual: produced)
        }
    }
}
