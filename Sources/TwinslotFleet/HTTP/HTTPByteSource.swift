import CCurl
import TwinslotCore

#if canImport(Glibc)
    import Glibc
#endif

/// A bundle streamed over HTTP(S) with no local copy. When the connection drops or stalls, it
/// asks again with a `Range` request from the first byte it has not received, guarded by
/// `If-Range` so that a bundle replaced on the server is refused instead of spliced.
public final class HTTPByteSource: ByteSource {
    public let name: String
    private let url: String
    private let options: HTTPOptions
    private let multi: CurlMulti
    private var transfer: CurlTransfer?
    private var queue = ByteQueue()
    /// The next byte the server should send: everything before it was received.
    private var position: UInt64
    private var ended = false
    /// The first response's strong ETag or its Last-Modified, for `If-Range`.
    public private(set) var validator: String?
    /// The resource's length, once a response told it.
    public private(set) var totalSize: UInt64?
    /// Body bytes received from the network over every attempt, including discarded ones.
    public private(set) var bytesReceived: UInt64 = 0
    /// Bytes received twice: a server that ignored `Range` resent what we already had.
    public private(set) var bytesRefetched: UInt64 = 0
    /// How many times the transfer was resumed after a failure.
    public private(set) var resumes = 0
    private var failuresInARow = 0
    /// Where and when the download last counted as progressing (or started): the retry budget
    /// was last renewed there.
    private var progressMark: (position: UInt64, time: ContinuousClock.Instant)
    /// Bytes of the current response to drop: it restarted from 0 although we asked for more.
    private var skip: UInt64 = 0

    /// Starts at `startOffset` (0, or where a resumed install continues); `validator` is the
    /// ETag or Last-Modified the earlier transfer saw, so a changed bundle is not spliced.
    public init(url: String, options: HTTPOptions = HTTPOptions(), startOffset: UInt64 = 0, validator: String? = nil)
        throws
    {
        guard Self.isHTTPURL(url) else {
            throw FleetError.invalidRequest("not an http(s) URL: \(url)")
        }
        self.url = url
        self.name = Self.redacted(url)
        self.options = options
        self.position = startOffset
        self.progressMark = (startOffset, .now)
        self.validator = validator
        multi = try CurlMulti()
    }

    /// True for an `http://` or `https://` URL, in any case: a URL scheme is case-insensitive
    /// (RFC 3986, 3.1), so `HTTP://host/x` is a URL, not a file name.
    public static func isHTTPURL(_ text: String) -> Bool {
        let scheme = text.prefix { $0 != ":" }.lowercased()
        return (scheme == "http" || scheme == "https") && text.dropFirst(scheme.count).hasPrefix("://")
    }

    /// The URL as it may appear in logs and reports: no user info, no query (tokens live there).
    static func redacted(_ url: String) -> String {
        var text = Substring(url)
        if let query = text.firstIndex(of: "?") { text = text[..<query] }
        let parts = text.split(separator: "/", maxSplits: 3, omittingEmptySubsequences: false)
        // scheme: "" authority path…: drop "user:password@" from the authority.
        guard parts.count >= 3, parts[0].hasSuffix(":"), parts[1].isEmpty, let at = parts[2].lastIndex(of: "@") else {
            return String(text)
        }
        let authority = parts[2][parts[2].index(after: at)...]
        return ([parts[0], "", authority] + parts.dropFirst(3)).joined(separator: "/")
    }

    public func reopen(at offset: UInt64) throws -> (any ByteSource)? {
        // Drop this transfer: nothing more is read from here.
        multi.detach()
        transfer = nil
        let reopened = try HTTPByteSource(url: url, options: options, startOffset: offset, validator: validator)
        continuation = reopened
        return reopened
    }

    /// The source that took over from this one (a resumed install): its counts are added.
    public private(set) var continuation: HTTPByteSource?
    /// Every byte received for this install, by this source and the ones that took over.
    public var totalBytesReceived: UInt64 { bytesReceived + (continuation?.totalBytesReceived ?? 0) }
    public var totalResumes: Int { resumes + (continuation?.totalResumes ?? 0) }
    public var totalBytesRefetched: UInt64 { bytesRefetched + (continuation?.totalBytesRefetched ?? 0) }
    /// How the transfers of this install waited, by this source and the ones that took over.
    public var totalCounters: TransferCounters {
        var own = multi.counters
        own.queuedBytes = queuedBytes
        return own + (continuation?.totalCounters ?? TransferCounters())
    }
    private var queuedBytes: UInt64 = 0

    /// At most this much is received ahead of the reader; the transfer waits past it. One
    /// receive's worth: the kernel's socket buffer (autotuned to the link) already holds what
    /// the server sent while the reader was busy, at no cost to this process's memory, and every
    /// byte queued here is copied twice instead of once.
    static let readAhead = 128 << 10

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        if queue.count > 0 { return queue.take(into: buffer) }
        // Nothing is queued: what arrives now goes straight into the reader's buffer, and only
        // what does not fit into the queue. One copy per byte instead of two, on the path
        // where the CPU is shared with everything else the install does.
        direct = (buffer, 0)
        defer { direct = nil }
        while true {
            if let direct, direct.filled > 0 { return direct.filled }
            if queue.count > 0 { return queue.take(into: buffer) }
            if ended { return 0 }
            // Unpausing may hand over what libcurl held back: then there is no need to pump.
            transfer?.resume()
            if let direct, direct.filled > 0 { continue }
            if queue.count > 0 { continue }
            try pump()
        }
    }

    /// The reader's buffer while it waits for bytes, and how much of it is filled.
    private var direct: (buffer: UnsafeMutableRawBufferPointer, filled: Int)?

    private func pump() throws {
        if transfer == nil { try start() }
        // Perform until the waiting reader's buffer is full: more would only be queued.
        let room = direct.map { UInt64($0.buffer.count - $0.filled) } ?? (256 << 10)
        guard let transfer, let result = multi.pump(batch: max(room, 1)) else { return }
        multi.detach()
        self.transfer = nil
        if result == CURLE_OK {
            if let totalSize, position < totalSize {
                try retry(after: "the server ended the response at byte \(position) of \(totalSize)")
            } else {
                ended = true
            }
            return
        }
        switch CurlOutcome(code: result, transfer: transfer, url: name) {
        case .fatal(let error): throw error
        case .retry(let reason): try retry(after: reason)
        }
    }

    /// Counts a failed attempt against the budget, which progress renews. Progress is new
    /// bytes at no less than the low-speed limit on average since the budget was last renewed,
    /// backoffs and failed attempts included: a server that trickles, or sends a few bytes and
    /// hangs up, spends the budget, while a link cut after each burst of fast bytes keeps going.
    /// So between renewals the download averages at least the limit, and it ends within
    /// size ÷ limit plus one budget's worth of failed attempts (docs/fleet.md).
    private func retry(after reason: String) throws {
        let received = position - progressMark.position
        let elapsed = ContinuousClock.now - progressMark.time
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
        if received > 0 && Double(received) >= Double(options.lowSpeedLimit) * seconds {
            failuresInARow = 0
            progressMark = (position, .now)
        }
        try options.retry.failed(&failuresInARow, url: name, reason: reason)
        resumes += 1
    }

    private func start() throws {
        let next = try CurlTransfer(url: url, options: options)
        let requested = position
        next.requestRange(from: requested, validator: validator)
        next.shouldPause = { [unowned self] length in
            // A piece that does not fit the rest of a waiting reader's buffer stays with libcurl
            // for the reader's next buffer, rather than being queued and copied twice.
            if let direct { return direct.filled > 0 && direct.buffer.count - direct.filled < length }
            return self.queue.count >= Self.readAhead
        }
        var first = true
        next.onBody = { [unowned self] transfer, bytes in
            if first {
                first = false
                if let refusal = self.accept(transfer, requested: requested) { return refusal }
            }
            self.receive(bytes)
            return nil
        }
        transfer = next
        multi.attach(next)
    }

    /// Checks the response to a request for the bytes from `requested` on.
    private func accept(_ transfer: CurlTransfer, requested: UInt64) -> (any Error)? {
        let status = transfer.responseCode
        let headers = transfer.responseHeaders
        var first: UInt64 = 0
        var total: UInt64?
        if status == 206 {
            // Content-Range: bytes FIRST-LAST/TOTAL
            guard let range = headers["content-range"], let parsed = Self.parseContentRange(range),
                parsed.first == requested
            else {
                return FleetError.protocolViolation(
                    url: name,
                    detail: "asked for bytes from \(requested), got Content-Range \(headers["content-range"] ?? "none")"
                )
            }
            first = parsed.first
            total = parsed.total
        } else if status == 200 {
            if requested > 0 && changed(headers) {
                return FleetError.resourceChanged(url: name)
            }
            total = headers["content-length"].flatMap(UInt64.init)
        } else {
            return FleetError.protocolViolation(url: name, detail: "unexpected HTTP status \(status)")
        }
        if let total, let known = totalSize, known != total { return FleetError.resourceChanged(url: name) }
        totalSize = total ?? totalSize
        if validator == nil { validator = Self.validator(from: headers) }
        // A 200 to a range request resends from byte 0: drop what we already have.
        skip = requested - first
        return nil
    }

    /// True when a full response's validator differs from the one we resumed with.
    private func changed(_ headers: [String: String]) -> Bool {
        guard let validator, let now = Self.validator(from: headers) else { return false }
        return validator != now
    }

    private func receive(_ bytes: UnsafeRawBufferPointer) {
        bytesReceived += UInt64(bytes.count)
        var bytes = bytes
        if skip > 0 {
            let dropped = Int(min(skip, UInt64(bytes.count)))
            skip -= UInt64(dropped)
            bytesRefetched += UInt64(dropped)
            bytes = UnsafeRawBufferPointer(rebasing: bytes[dropped...])
        }
        guard !bytes.isEmpty else { return }
        position += UInt64(bytes.count)
        if var target = direct, target.filled < target.buffer.count {
            let count = min(bytes.count, target.buffer.count - target.filled)
            (target.buffer.baseAddress! + target.filled).copyMemory(from: bytes.baseAddress!, byteCount: count)
            target.filled += count
            direct = target
            bytes = UnsafeRawBufferPointer(rebasing: bytes[count...])
            guard !bytes.isEmpty else { return }
        }
        queue.append(bytes)
        queuedBytes += UInt64(bytes.count)
    }

    static func validator(from headers: [String: String]) -> String? {
        if let etag = headers["etag"], !etag.hasPrefix("W/") { return etag }
        return headers["last-modified"]
    }

    static func parseContentRange(_ value: String) -> (first: UInt64, total: UInt64?)? {
        let parts = value.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bytes" else { return nil }
        let rangeAndTotal = parts[1].split(separator: "/", maxSplits: 1)
        guard rangeAndTotal.count == 2, let dash = rangeAndTotal[0].firstIndex(of: "-"),
            let first = UInt64(rangeAndTotal[0][..<dash])
        else { return nil }
        return (first, UInt64(rangeAndTotal[1]))
    }
}

/// Sleeps the calling thread; retries run on the thread that reads.
func sleepSeconds(_ seconds: Double) {
    var request = timespec(tv_sec: Int(seconds), tv_nsec: Int((seconds - Double(Int(seconds))) * 1e9))
    var remaining = timespec()
    while nanosleep(&request, &remaining) != 0 && errno == EINTR { request = remaining }
}
