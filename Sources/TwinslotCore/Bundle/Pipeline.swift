import Synchronization

/// A fixed-size, page-aligned buffer handed between the two pipeline threads. Only one thread
/// touches it at a time: ownership moves with the message that carries it.
///
/// Why `@unchecked Sendable`: the buffer is the pipeline's hot path (one per 128 KiB block) and
/// is owned by exactly one thread at a time — the producer fills it, puts it on the `work` queue
/// and never touches it again until it comes back through the `free` queue; the queue's mutex
/// orders every handoff. A lock inside the buffer would guard nothing the queues do not already
/// order, and Swift cannot express "moved with the message" for a class.
final class PipelineBuffer: @unchecked Sendable {
    let memory: UnsafeMutableRawBufferPointer
    var count = 0

    init(capacity: Int) {
        memory = UnsafeMutableRawBufferPointer.allocate(byteCount: capacity, alignment: 4096)
    }

    deinit { memory.deallocate() }

    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: memory[..<count]) }
}

/// A blocking FIFO between two threads: one lock acquisition per `put` and per `take`.
final class BlockingQueue<Element: Sendable>: Sendable {
    private let items = ConditionLock<[Element]>([])

    func put(_ item: Element) { items.withLockSignalling { $0.append(item) } }

    func take() -> Element { items.wait(until: { !$0.isEmpty }, then: { $0.removeFirst() }) }
}

/// The receiving end of an image stream. It sees the image's bytes in order, on the pipeline's
/// second thread, so writing overlaps with reading and decompressing.
public protocol ImageSink: AnyObject {
    func write(_ bytes: UnsafeRawBufferPointer, at offset: UInt64) throws
}

/// What the consumer thread computed over one image.
public struct ImageDigest: Sendable, Equatable {
    public var size: UInt64
    public var sha256: String
    public var compressedSize: UInt64
    public var compressedSha256: String
}

/// Two threads and a bounded ring of buffers: the caller's thread reads the tar member and
/// decompresses it; the second thread hashes the compressed and the decompressed bytes and hands
/// the latter to the sink. Memory is `bufferCount × bufferSize`, whatever the image size.
final class ImagePipeline: Sendable {
    static let bufferSize = 128 << 10
    static let bufferCount = 6

    enum Message: Sendable {
        case compressed(PipelineBuffer)
        case decompressed(PipelineBuffer)
        case end
    }

    private let free = BlockingQueue<PipelineBuffer>()
    private let work = BlockingQueue<Message>()
    private let done = BlockingQueue<Result<ImageDigest, any Error>>()
    private let consumerError = Mutex<(any Error)?>(nil)
    /// Used on the consumer thread only, from `start` until `finish` returns (the `done` queue
    /// orders the caller's next use after the consumer's last).
    private let sink: ThreadHandoff<(any ImageSink)?>

    init(sink: (any ImageSink)?) {
        self.sink = ThreadHandoff(sink)
        for _ in 0..<Self.bufferCount { free.put(PipelineBuffer(capacity: Self.bufferSize)) }
    }

    /// The consumer's error, if it failed; the producer stops at the next buffer.
    var failed: (any Error)? { consumerError.withLock { $0 } }

    /// Set once by `start` (the thread needs `self`), joined by `finish`.
    private let consumer = Mutex<JoinableThread?>(nil)

    func start() {
        let thread = JoinableThread(name: "twinslot-sink") { [self] in consume() }
        consumer.withLock { $0 = thread }
    }

    func takeFreeBuffer() throws -> PipelineBuffer {
        let buffer = free.take()
        if let error = failed {
            free.put(buffer)
            throw error
        }
        buffer.count = 0
        return buffer
    }

    func send(_ message: Message) { work.put(message) }

    /// Ends the stream and waits for the consumer's digest.
    func finish() throws -> ImageDigest {
        work.put(.end)
        let digest = done.take()
        consumer.withLock { $0 }?.join()
        return try digest.get()
    }

    private func consume() {
        let hasher = SHA256Hasher()
        let compressedHasher = SHA256Hasher()
        var size: UInt64 = 0
        var compressedSize: UInt64 = 0
        var error: (any Error)?
        while true {
            switch work.take() {
            case .compressed(let buffer):
                if error == nil {
                    compressedHasher.update(buffer.bytes)
                    compressedSize += UInt64(buffer.count)
                }
                free.put(buffer)
            case .decompressed(let buffer):
                if error == nil {
                    hasher.update(buffer.bytes)
                    do {
                        try sink.value?.write(buffer.bytes, at: size)
                    } catch let sinkError {
                        error = sinkError
                        consumerError.withLock { $0 = sinkError }
                    }
                    size += UInt64(buffer.count)
                }
                free.put(buffer)
            case .end:
                if let error {
                    done.put(.failure(error))
                } else {
                    done.put(
                        .success(
                            ImageDigest(
                                size: size, sha256: hasher.finalize(), compressedSize: compressedSize,
                                compressedSha256: compressedHasher.finalize())))
                }
                return
            }
        }
    }
}
