import CCurl

/// Small request/response exchanges (a fleet server's JSON documents), with the same TLS,
/// header and retry rules as bundle downloads.
public final class HTTPClient {
    public struct Response: Sendable {
        public var status: Int
        public var body: [UInt8]
        public var headers: [String: String]
    }

    private let options: HTTPOptions
    private let multi: CurlMulti
    /// Responses larger than this are refused: a DDI document is a few KiB.
    public var responseLimit = 4 << 20
    /// The `Retry-After` header of the last retryable answer (429, 503, …), nil when it had
    /// none: a caller that owns the backoff (the agent's poll loop) waits at least that long.
    public private(set) var lastRetryAfter: String?

    public init(options: HTTPOptions) throws {
        self.options = options
        multi = try CurlMulti()
    }

    /// One request, retried per the retry policy on network failures, 5xx, 408 and 429.
    /// A 4xx other than those is returned as an error at once.
    public func send(_ method: String, _ url: String, json body: [UInt8]? = nil, accept: String = "application/json")
        throws -> Response
    {
        let name = HTTPByteSource.redacted(url)
        var failures = 0
        lastRetryAfter = nil
        while true {
            let transfer = try CurlTransfer(url: url, options: options)
            transfer.addHeader("Accept: \(accept)")
            if let body { transfer.setBody(body, method: method, contentType: "application/json") }
            var received: [UInt8] = []
            let limit = responseLimit
            transfer.onBody = { transfer, bytes in
                guard received.count + bytes.count <= limit else {
                    return FleetError.protocolViolation(url: name, detail: "the response is larger than \(limit) bytes")
                }
                received.append(contentsOf: bytes)
                return nil
            }
            // Error bodies matter here (a server says why it refused): read them.
            _ = ts_curl_set_long(curlAPI, transfer.handle, CURLOPT_FAILONERROR, 0)
            let result = multi.run(transfer)
            let reason: String
            if result == CURLE_OK {
                let status = transfer.responseCode
                if status < 400 { return Response(status: status, body: received, headers: transfer.responseHeaders) }
                guard CurlOutcome.isRetryable(status: status) else {
                    throw FleetError.httpStatus(
                        url: name, status: status, body: String(decoding: received, as: UTF8.self))
                }
                reason = "HTTP \(status)"
                lastRetryAfter = transfer.responseHeaders["retry-after"]
            } else {
                switch CurlOutcome(code: result, transfer: transfer, url: name) {
                case .fatal(let error): throw error
                case .retry(let message): reason = message
                }
            }
            try options.retry.failed(&failures, url: name, reason: reason)
        }
    }
}
