import Synchronization

/// `bundle verify`'s reading of a directory image: the decoded bytes go, as the pipeline hands
/// them over, to a thread that walks them with `ImageTarRules.walk`, the very walk install
/// extracts with, and nothing is written. libarchive pulls its input, so the bytes cross through
/// a small ring of buffers: memory stays `bufferCount × bufferSize` whatever the image's size.
public final class ImageTarCheckSink: ImageSink {
    static let bufferCount = 4

    /// What the pipeline's sink thread and the checking thread share.
    private final class Channel: Sendable {
        /// Filled buffers in stream order; nil ends the stream.
        let filled = BlockingQueue<PipelineBuffer?>()
        let free = BlockingQueue<PipelineBuffer>()
        let outcome = BlockingQueue<Result<Void, any Error>>()
        /// The walk's error, once it failed: the next write throws it and the stream stops.
        let failure = Mutex<(any Error)?>(nil)
    }

    /// The checking thread's byte source: the buffers the sink hands over.
    private final class ChannelSource: ByteSource {
        let name: String
        private let channel: Channel
        private var current: PipelineBuffer?
        private var used = 0
        private var ended = false

        init(name: String, channel: Channel) {
            self.name = name
            self.channel = channel
        }

        func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
            if current == nil {
                guard !ended, let next = channel.filled.take() else {
                    ended = true
                    return 0
                }
                current = next
                used = 0
            }
            let chunk = current!
            let n = min(buffer.count, chunk.count - used)
            buffer.baseAddress!.copyMemory(from: chunk.memory.baseAddress! + used, byteCount: n)
            used += n
            if used == chunk.count {
                channel.free.put(chunk)
                current = nil
            }
            return n
        }

        /// Takes the rest of the stream after a failed walk, so the writer never waits forever.
        func drain() {
            if let current { channel.free.put(current) }
            current = nil
            while !ended {
                guard let next = channel.filled.take() else { break }
                channel.free.put(next)
            }
            ended = true
        }
    }

    private let channel: Channel
    private let walker: JoinableThread
    private var ended = false

    /// Starts the checking thread for the image `member`.
    public init(member: String) {
        let channel = Channel()
        self.channel = channel
        for _ in 0..<Self.bufferCount { channel.free.put(PipelineBuffer(capacity: ImagePipeline.bufferSize)) }
        walker = JoinableThread(name: "twinslot-tar-check") { [channel] in
            let source = ChannelSource(name: member, channel: channel)
            let result = Result { try ImageTarRules.walk(source: source, member: member) }
            if case .failure(let error) = result { channel.failure.withLock { $0 = error } }
            source.drain()
            channel.outcome.put(result)
        }
    }

    deinit {
        // A stream that failed before `finish`: end it, and wait for the walk to end, so the
        // thread is not still reading (and holding its buffers) after the sink is gone.
        if !ended {
            channel.filled.put(nil)
            walker.join()
        }
    }

    public func write(_ bytes: UnsafeRawBufferPointer, at offset: UInt64) throws {
        var done = 0
        while done < bytes.count {
            if let error = channel.failure.withLock({ $0 }) { throw error }
            let buffer = channel.free.take()
            let n = min(buffer.memory.count, bytes.count - done)
            buffer.memory.copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[done..<(done + n)]))
            buffer.count = n
            channel.filled.put(buffer)
            done += n
        }
        if let error = channel.failure.withLock({ $0 }) { throw error }
    }

    /// Ends the stream and returns once the walk has read it all: throws what the walk found.
    public func finish() throws {
        guard !ended else { return }
        ended = true
        channel.filled.put(nil)
        let outcome = channel.outcome.take()
        walker.join()
        try outcome.get()
    }
}
