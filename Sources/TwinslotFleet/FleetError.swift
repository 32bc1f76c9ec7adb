import TwinslotCore

/// What can go wrong between the device and a server. Network trouble is its own failure class
/// (exit 19) so an orchestrator can tell "try later" from "this bundle is bad".
public enum FleetError: ClassifiedError, Equatable {
    /// Every retry of the retry budget failed; `reason` is the last failure.
    case transferFailed(url: String, attempts: Int, reason: String)
    /// The server answered with an HTTP error that retrying cannot fix (a 4xx).
    case httpStatus(url: String, status: Int, body: String)
    /// The server's certificate did not verify against the trust store or the pinned CA.
    case tls(url: String, reason: String)
    /// The resource changed between two parts of one download (its ETag or Last-Modified moved).
    case resourceChanged(url: String)
    /// The download does not match the size or a digest the server announced.
    case artifactMismatch(url: String, what: String, expected: String, actual: String)
    /// The server's document is not what the DDI API describes.
    case protocolViolation(url: String, detail: String)
    /// libcurl could not be loaded (it is loaded on first use: see Sources/CCurl/shim.h).
    case httpUnavailable(reason: String)
    /// An option or a URL that cannot work.
    case invalidRequest(String)
    /// The server redirected where twinslot does not follow: another scheme than http or
    /// https, a malformed Location, or more than 10 redirects (a loop).
    case redirectRefused(url: String, reason: String)

    public var failureClass: FailureClass {
        switch self {
        case .transferFailed, .tls: .network
        case .httpStatus(_, let status, _): status == 401 || status == 403 ? .untrusted : .network
        case .resourceChanged: .network
        case .artifactMismatch: .badBundle
        case .protocolViolation: .network
        case .invalidRequest: .usage
        case .redirectRefused: .network
        case .httpUnavailable: .config
        }
    }

    public var description: String {
        switch self {
        case .transferFailed(let url, let attempts, let reason):
            "download of \(url) failed after \(attempts) attempt\(attempts == 1 ? "" : "s"): \(reason)"
        case .httpStatus(let url, let status, let body):
            "\(url) answered HTTP \(status)" + (body.isEmpty ? "" : ": \(body.prefix(200))")
        case .tls(let url, let reason): "TLS with \(url) failed: \(reason)"
        case .resourceChanged(let url):
            "\(url) changed while it was being downloaded (its ETag or Last-Modified moved): start over"
        case .artifactMismatch(let url, let what, let expected, let actual):
            "\(url): \(what) is \(actual), the server announced \(expected)"
        case .protocolViolation(let url, let detail): "\(url): \(detail)"
        case .invalidRequest(let detail): detail
        case .redirectRefused(let url, let reason):
            "\(url) redirected where twinslot does not follow (only http and https, at most 10 redirects): \(reason)"
        case .httpUnavailable(let reason):
            "HTTP is unavailable: libcurl (libcurl.so.4, Debian package libcurl4) could not be loaded: \(reason)"
        }
    }
}
