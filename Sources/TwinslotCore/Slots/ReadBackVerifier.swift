import Synchronization

/// Reads a raw slot back while the rest of the image is still being written: each region,
/// once written, waits for the device, has its cached pages dropped, and is read back and
/// checksummed on this verifier's own thread, then compared with the checksum of the bytes
/// handed to the slot. The install's wall time then hides most of the read-back instead of
/// adding it at the end. Memory: one read buffer.
///
/// Why a fast checksum (XXH3) suffices here: the SHA-256 of the stream, checked against the
/// signed manifest, already proves the bytes written are the signed image; the read-back has
/// to prove the medium returns those bytes, which is a matter of corruption, not of forgery.
final class ReadBackVerifier: Sendable {
    struct Region: Sendable {
        var offset: UInt64
        var length: UInt64
        var checksum: UInt64
    }

    enum Message: Sendable {
        case region(Region)
        case end
    }

    static let readSize = 256 << 10

    /// Read here while the writer's thread writes other regions of it: a `StorageFile`'s
    /// positional `read` and `write` are safe to use concurrently (`pread`/`pwrite`); the
    /// writer closes it only after `finish` returned (the `result` queue orders that).
    private let file: ThreadHandoff<any StorageFile>
    private let queue = BlockingQueue<Message>()
    private let result = BlockingQueue<Result<UInt64, any Error>>()

    init(file: any StorageFile) {
        self.file = ThreadHandoff(file)
        let worker = JoinableThread(name: "twinslot-verify") { [self] in run() }
        thread.withLock { $0 = worker }
    }

    /// Set once, right after the thread starts (it needs `self`, so it cannot be a `let`).
    private let thread = Mutex<JoinableThread?>(nil)

    func verify(_ region: Region) { queue.put(.region(region)) }

    /// Waits for every region queued; returns the bytes verified, or the first failure.
    func finish() throws -> UInt64 {
        queue.put(.end)
        let verified = result.take()
        thread.withLock { $0 }?.join()
        return try verified.get()
    }

    private func run() {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: Self.readSize, alignment: 4096)
        defer { buffer.deallocate() }
        var failure: (any Error)?
        var verified: UInt64 = 0
        while case .region(let region) = queue.take() {
            guard failure == nil else { continue }
            do {
                try check(region, buffer)
                verified += region.length
            } catch {
                failure = error
            }
        }
        result.put(failure.map { .failure($0) } ?? .success(verified))
    }

    private func check(_ region: Region, _ buffer: UnsafeMutableRawBufferPointer) throws {
        let file = file.value
        file.settleForReadBack(offset: region.offset, length: region.length)
        let hasher = RegionHash()
        var done: UInt64 = 0
        while done < region.length {
            let want = Int(min(UInt64(buffer.count), region.length - done))
            let n = try file.read(
                into: UnsafeMutableRawBufferPointer(rebasing: buffer[..<want]), at: region.offset + done)
            guard n > 0 else {
                throw SlotError.shortRead(
                    slot: file.path.string, expected: region.offset + region.length, got: region.offset + done)
            }
            hasher.update(UnsafeRawBufferPointer(rebasing: buffer[..<n]))
            done += UInt64(n)
        }
        let actual = hasher.finalize()
        guard actual == region.checksum else {
            throw SlotError.regionMismatch(
                slot: file.path.string, offset: region.offset, length: region.length)
        }
    }
}
