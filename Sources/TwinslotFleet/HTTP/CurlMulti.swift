import CCurl

/// Drives one transfer at a time on a libcurl multi handle, so a reader can pull bytes when it
/// wants them instead of being pushed a whole response.
final class CurlMulti {
    private let multi: UnsafeMutableRawPointer
    private var current: CurlTransfer?
    private var finishedCounters = TransferCounters()
    /// What the loop did while it waited, over every transfer it drove.
    var counters: TransferCounters {
        var counters = finishedCounters
        counters.pauses += current?.pauses ?? 0
        return counters
    }

    init() throws {
        try CurlGlobal.initialize()
        guard let multi = ts_curl_multi_init(curlAPI) else { fatalError("curl_multi_init: out of memory") }
        self.multi = multi
    }

    deinit {
        detach()
        ts_curl_multi_cleanup(curlAPI, multi)
    }

    func attach(_ transfer: CurlTransfer) {
        detach()
        ts_curl_multi_add_handle(curlAPI, multi, transfer.handle)
        current = transfer
    }

    func detach() {
        if let current {
            ts_curl_multi_remove_handle(curlAPI, multi, current.handle)
            finishedCounters.pauses += current.pauses
        }
        current = nil
    }

    /// Moves the transfer along; returns its result once it has ended. It performs while that
    /// delivers bytes, up to `batch` of them, and waits for the network (up to
    /// `timeoutMilliseconds`) only when there is nothing else to do: when performing delivered
    /// no byte and the transfer is not paused.
    ///
    /// Why: a transfer paused by the reader's read-ahead bound has its socket left out of the
    /// poll set, so polling then can only end by the timeout, while the socket is full. The
    /// loop used to do exactly that, once per read-ahead window: 512 KiB per second whatever
    /// the server. Bytes that just arrived are the reader's to take first, too; taking them in
    /// batches rather than one receive buffer at a time keeps the reader's calls few.
    func pump(timeoutMilliseconds: Int32 = 1000, batch: UInt64 = 256 << 10) -> CURLcode? {
        let start = current?.bodyBytes ?? 0
        while true {
            let before = current?.bodyBytes ?? 0
            perform()
            if let done = finished() { return done }
            guard let current, !current.paused else { return nil }
            let delivered = current.bodyBytes - start
            if current.bodyBytes == before || delivered >= batch { break }
        }
        if let current, current.bodyBytes != start { return nil }
        poll(timeoutMilliseconds)
        perform()
        return finished()
    }

    private func perform() {
        var running: Int32 = 0
        ts_curl_multi_perform(curlAPI, multi, &running)
    }

    /// Waits for the network (or libcurl's next timer), counting how the wait ended.
    private func poll(_ timeoutMilliseconds: Int32) {
        finishedCounters.polls += 1
        if current?.paused == true { finishedCounters.pausedPolls += 1 }
        var ready: Int32 = 0
        ts_curl_multi_poll(curlAPI, multi, timeoutMilliseconds, &ready)
        if ready == 0 { finishedCounters.pollTimeouts += 1 }
    }

    private func finished() -> CURLcode? {
        var queued: Int32 = 0
        while let message = ts_curl_multi_info_read(curlAPI, multi, &queued) {
            if message.pointee.msg == CURLMSG_DONE { return message.pointee.data.result }
        }
        return nil
    }

    /// Runs the transfer to its end.
    func run(_ transfer: CurlTransfer) -> CURLcode {
        attach(transfer)
        defer { detach() }
        while true {
            if let result = pump() { return result }
        }
    }
}

/// Whether a failed transfer is worth another attempt, and how to say what went wrong.
enum CurlOutcome {
    case retry(String)
    case fatal(any Error)

    /// 408 and 429 say "later"; a 5xx may pass. Other 4xx will not change by retrying.
    static func isRetryable(status: Int) -> Bool { status >= 500 || status == 408 || status == 429 }

    init(code: CURLcode, transfer: CurlTransfer, url: String) {
        let message = String(cString: ts_curl_easy_strerror(curlAPI, code))
        if let refusal = transfer.refusal {
            self = .fatal(refusal)
            return
        }
        switch code {
        case CURLE_HTTP_RETURNED_ERROR:
            let status = transfer.responseCode
            if Self.isRetryable(status: status) {
                self = .retry("HTTP \(status)")
            } else {
                self = .fatal(FleetError.httpStatus(url: url, status: status, body: ""))
            }
        case CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CACERT_BADFILE, CURLE_SSL_CERTPROBLEM, CURLE_SSL_ISSUER_ERROR,
            CURLE_SSL_PINNEDPUBKEYNOTMATCH:
            self = .fatal(FleetError.tls(url: url, reason: message))
        case CURLE_TOO_MANY_REDIRECTS:
            self = .fatal(FleetError.redirectRefused(url: url, reason: message))
        case CURLE_URL_MALFORMAT, CURLE_UNSUPPORTED_PROTOCOL:
            // The URL we were given is checked before the transfer starts: after a redirect,
            // the fault is the server's (a Location to file://, gopher://, or garbage).
            if transfer.redirectCount > 0 {
                self = .fatal(FleetError.redirectRefused(url: url, reason: message))
            } else {
                self = .fatal(FleetError.invalidRequest("\(url): \(message)"))
            }
        default:
            self = .retry(message)
        }
    }
}
