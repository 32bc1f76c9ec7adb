import CCurl

#if canImport(Glibc)
    import Glibc
#endif

/// One HTTP request on a libcurl easy handle and its header list. It has one owner and frees
/// the handle when it goes. Body bytes go to `onBody` as they arrive.
final class CurlTransfer {
    let handle: UnsafeMutableRawPointer
    private var headerList: UnsafeMutablePointer<curl_slist>?
    /// Response headers of the last response (a redirect's are dropped), names lowercased.
    private(set) var responseHeaders: [String: String] = [:]
    /// Set by a body callback that refused the response; curl then ends with a write error.
    private(set) var refusal: (any Error)?
    /// Asked before each piece of the body, with its length: true holds the transfer (curl
    /// keeps the piece and hands it over again after `resume()`), so a slow reader bounds what
    /// is buffered.
    var shouldPause: (Int) -> Bool = { _ in false }
    private(set) var paused = false
    /// How many times `shouldPause` held the transfer.
    private(set) var pauses = 0
    /// Body bytes handed to `onBody` so far.
    private(set) var bodyBytes: UInt64 = 0
    /// Receives each piece of the body; a returned error ends the transfer with that error.
    var onBody: (CurlTransfer, UnsafeRawBufferPointer) -> (any Error)? = { _, _ in nil }

    init(url: String, options: HTTPOptions) throws {
        try CurlGlobal.initialize()
        guard let handle = ts_curl_easy_init(curlAPI) else { fatalError("curl_easy_init: out of memory") }
        self.handle = handle
        try check(ts_curl_set_string(curlAPI, handle, CURLOPT_URL, url), "URL \(url)")
        _ = ts_curl_set_long(curlAPI, handle, CURLOPT_NOSIGNAL, 1)
        // One receive takes up to 128 KiB (the default is 16 KiB): fewer calls per megabyte, and
        // no more than the reader asks for at a time (the pipeline's buffers), so that what
        // arrives while it waits fits straight into its buffer (HTTPByteSource.read). libcurl
        // hands a receive to the body callback in pieces of at most 16 KiB whatever this size
        // (CURL_MAX_WRITE_SIZE); a larger size did not lower the kernel's share of a download's
        // CPU either (docs/architecture.md, "Measured: where a URL install's extra CPU goes").
        _ = ts_curl_set_long(curlAPI, handle, CURLOPT_BUFFERSIZE, 128 << 10)
        _ = ts_curl_set_long(curlAPI, handle, CURLOPT_FOLLOWLOCATION, 1)
        _ = ts_curl_set_long(curlAPI, handle, CURLOPT_MAXREDIRS, 10)
        _ = ts_curl_set_long(curlAPI, handle, CURLOPT_FAILONERROR, 1)
        _ = ts_curl_set_long(curlAPI, handle, CURLOPT_CONNECTTIMEOUT, options.connectTimeout)
        _ = ts_curl_set_long(curlAPI, handle, CURLOPT_LOW_SPEED_LIMIT, options.lowSpeedLimit)
        _ = ts_curl_set_long(curlAPI, handle, CURLOPT_LOW_SPEED_TIME, options.stallTimeout)
        _ = ts_curl_set_string(curlAPI, handle, CURLOPT_PROTOCOLS_STR, "http,https")
        _ = ts_curl_set_string(curlAPI, handle, CURLOPT_REDIR_PROTOCOLS_STR, "http,https")
        _ = ts_curl_set_string(curlAPI, handle, CURLOPT_USERAGENT, "twinslot")
        if let caFile = options.caFile {
            try check(ts_curl_set_string(curlAPI, handle, CURLOPT_CAINFO, caFile), "CA file")
            // Debian's libcurl also trusts its compiled-in CA directory (/etc/ssl/certs) beside
            // CAINFO: without this, any server chained to a system CA would pass the pin.
            try check(ts_curl_set_string(curlAPI, handle, CURLOPT_CAPATH, nil), "CA path")
        }
        if let certificate = options.clientCertificate {
            try check(ts_curl_set_string(curlAPI, handle, CURLOPT_SSLCERT, certificate), "client certificate")
        }
        if let key = options.clientKey {
            try check(ts_curl_set_string(curlAPI, handle, CURLOPT_SSLKEY, key), "client key")
        }
        let context = Unmanaged.passUnretained(self).toOpaque()
        _ = ts_curl_set_callback(curlAPI, handle, CURLOPT_WRITEFUNCTION, curlBodyCallback)
        _ = ts_curl_set_pointer(curlAPI, handle, CURLOPT_WRITEDATA, context)
        _ = ts_curl_set_callback(curlAPI, handle, CURLOPT_HEADERFUNCTION, curlHeaderCallback)
        _ = ts_curl_set_pointer(curlAPI, handle, CURLOPT_HEADERDATA, context)
        for header in options.headers { addHeader("\(header.name): \(header.value)") }
    }

    deinit {
        ts_curl_easy_cleanup(curlAPI, handle)
        ts_curl_slist_free_all(curlAPI, headerList)
    }

    private func check(_ code: CURLcode, _ what: String) throws {
        guard code == CURLE_OK else {
            throw FleetError.invalidRequest("\(what): \(String(cString: ts_curl_easy_strerror(curlAPI, code)))")
        }
    }

    func addHeader(_ line: String) {
        headerList = ts_curl_slist_append(curlAPI, headerList, line)
        _ = ts_curl_set_pointer(curlAPI, handle, CURLOPT_HTTPHEADER, UnsafeMutableRawPointer(headerList))
    }

    /// Asks for the bytes from `offset` on; `validator` (an ETag or a Last-Modified date) makes
    /// the server send the whole resource instead if it changed, which the caller then refuses.
    func requestRange(from offset: UInt64, validator: String?) {
        guard offset > 0 else { return }
        _ = ts_curl_set_string(curlAPI, handle, CURLOPT_RANGE, "\(offset)-")
        if let validator { addHeader("If-Range: \(validator)") }
    }

    /// Sends `body` with `method` (PUT or POST) as the request body.
    func setBody(_ body: [UInt8], method: String, contentType: String) {
        _ = ts_curl_set_string(curlAPI, handle, CURLOPT_CUSTOMREQUEST, method)
        _ = ts_curl_set_offset(curlAPI, handle, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(body.count))
        body.withUnsafeBufferPointer { buffer in
            _ = ts_curl_set_pointer(
                curlAPI,
                handle, CURLOPT_COPYPOSTFIELDS, UnsafeMutableRawPointer(mutating: buffer.baseAddress))
        }
        addHeader("Content-Type: \(contentType)")
    }

    /// How many redirects libcurl followed for this request.
    var redirectCount: Int {
        var count = 0
        _ = ts_curl_get_long(curlAPI, handle, CURLINFO_REDIRECT_COUNT, &count)
        return count
    }

    var responseCode: Int {
        var code = 0
        _ = ts_curl_get_long(curlAPI, handle, CURLINFO_RESPONSE_CODE, &code)
        return code
    }

    func resume() {
        guard paused else { return }
        paused = false
        ts_curl_easy_pause(curlAPI, handle, CURLPAUSE_CONT)
    }

    fileprivate func pauseRequested(length: Int) -> Bool {
        if !paused && shouldPause(length) {
            paused = true
            pauses += 1
        }
        return paused
    }

    fileprivate func receiveBody(_ bytes: UnsafeRawBufferPointer) -> Bool {
        bodyBytes += UInt64(bytes.count)
        if let error = onBody(self, bytes) {
            refusal = error
            return false
        }
        return true
    }

    fileprivate func receiveHeader(_ line: String) {
        if line.hasPrefix("HTTP/") {
            responseHeaders = [:]
            return
        }
        guard let colon = line.firstIndex(of: ":") else { return }
        let name = line[..<colon].lowercased()
        let value = line[line.index(after: colon)...].trimmingCharacters(in: " \t\r\n")
        responseHeaders[name] = value
    }
}

extension StringProtocol {
    fileprivate func trimmingCharacters(in set: String) -> String {
        let characters = Set(set)
        var slice = Substring(self)
        while let first = slice.first, characters.contains(first) { slice.removeFirst() }
        while let last = slice.last, characters.contains(last) { slice.removeLast() }
        return String(slice)
    }
}

private func curlBodyCallback(
    data: UnsafeMutablePointer<CChar>?, size: Int, count: Int, context: UnsafeMutableRawPointer?
)
    -> Int
{
    guard let data, let context else { return 0 }
    let transfer = Unmanaged<CurlTransfer>.fromOpaque(context).takeUnretainedValue()
    let length = size * count
    if transfer.pauseRequested(length: length) { return Int(CURL_WRITEFUNC_PAUSE) }
    return transfer.receiveBody(UnsafeRawBufferPointer(start: data, count: length)) ? length : 0
}

private func curlHeaderCallback(
    data: UnsafeMutablePointer<CChar>?, size: Int, count: Int, context: UnsafeMutableRawPointer?
) -> Int {
    guard let data, let context else { return 0 }
    let transfer = Unmanaged<CurlTransfer>.fromOpaque(context).takeUnretainedValue()
    let length = size * count
    let line = String(decoding: UnsafeRawBufferPointer(start: data, count: length), as: UTF8.self)
    transfer.receiveHeader(line)
    return length
}

/// libcurl's functions, loaded by `CurlGlobal.initialize` (shim.h); written once, then only read.
nonisolated(unsafe) let curlAPI = UnsafeMutablePointer<ts_curl_api>.allocate(capacity: 1)

/// Loads libcurl (shim.h) and runs `curl_global_init`, once, before any other libcurl call.
enum CurlGlobal {
    private static let loadError: String? = {
        curlAPI.initialize(to: ts_curl_api())
        let before = LoadTimePages.mappedFiles()
        let error = ts_curl_load(curlAPI).map { String(cString: $0) }
        if error == nil { LoadTimePages.release(keeping: before) }
        return error
    }()

    static func initialize() throws {
        if let loadError { throw FleetError.httpUnavailable(reason: loadError) }
    }
}
