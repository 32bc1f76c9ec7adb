#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Talks to one controller's DDI resource, `{server}/{tenant}/controller/v1/{controllerId}`. It
/// follows the hrefs the server hands out instead of building URLs.
///
/// The credential (`TargetToken` for one device, `GatewayToken` for a tenant-wide gateway) goes
/// with every DDI call, and with a download only when the artifact lives on the DDI server's own
/// origin (scheme, host, port): artifact links may point at a CDN or a storage bucket, and a
/// device token handed to them is a token leaked. (A redirect to another host does not carry it
/// either: libcurl drops a custom `Authorization` header when the host changes.)
public final class DDIClient {
    /// How a device proves who it is to the DDI server.
    public enum Credential: Sendable, Equatable {
        case target(String)
        case gateway(String)

        var header: (name: String, value: String) {
            switch self {
            case .target(let token): ("Authorization", "TargetToken \(token)")
            case .gateway(let token): ("Authorization", "GatewayToken \(token)")
            }
        }
    }

    /// What a client is made of, Sendable so that another thread (the progress sender) can
    /// make its own client with the same base, credential and transport.
    public struct Configuration: Sendable {
        public var base: String
        public var credential: Credential?
        /// Transport options without the credential.
        public var options: HTTPOptions
    }

    public let configuration: Configuration
    public var base: String { configuration.base }
    /// Options for DDI calls: the transport plus the credential.
    public let options: HTTPOptions
    private let http: HTTPClient
    private let pollHTTP: HTTPClient

    public convenience init(
        server: String, tenant: String, controllerID: String, credential: Credential?, options: HTTPOptions
    ) throws {
        guard HTTPByteSource.isHTTPURL(server) else {
            throw FleetError.invalidRequest("--server must be an http(s) URL, not \(server)")
        }
        guard !controllerID.isEmpty, !controllerID.contains("/"), !tenant.isEmpty, !tenant.contains("/") else {
            throw FleetError.invalidRequest("the tenant and the controller id must be non-empty and contain no '/'")
        }
        var trimmed = server
        while trimmed.hasSuffix("/") { trimmed.removeLast() }
        try self.init(
            Configuration(
                base: "\(trimmed)/\(tenant)/controller/v1/\(controllerID)", credential: credential, options: options))
    }

    public init(_ configuration: Configuration) throws {
        self.configuration = configuration
        var options = configuration.options
        if let credential = configuration.credential { options.headers.append(credential.header) }
        self.options = options
        http = try HTTPClient(options: options)
        // The poll makes one attempt: its caller (the agent's loop) owns the backoff, with
        // full jitter and the server's Retry-After, which a retry loop in here would hide.
        var single = options
        single.retry.attempts = 1
        pollHTTP = try HTTPClient(options: single)
    }

    /// The same client making one attempt per call: for messages that may be lost (progress).
    public func singleAttempt() -> Configuration {
        var configuration = configuration
        configuration.options.retry.attempts = 1
        return configuration
    }

    /// The `Retry-After` the server sent with the last failed poll.
    public var lastRetryAfter: String? { pollHTTP.lastRetryAfter }

    /// Options for downloading `url`: with the credential only on the DDI server's own origin.
    public func downloadOptions(for url: String) -> HTTPOptions {
        Self.origin(url) == Self.origin(base) ? options : configuration.options
    }

    /// `scheme://host:port`, lowercased, with the default port made explicit; nil if unparsable.
    static func origin(_ url: String) -> String? {
        guard let schemeEnd = url.firstRange(of: "://") else { return nil }
        let scheme = url[..<schemeEnd.lowerBound].lowercased()
        var authority = url[schemeEnd.upperBound...].prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        if let at = authority.lastIndex(of: "@") { authority = authority[authority.index(after: at)...] }
        var host = String(authority).lowercased()
        var port = scheme == "https" ? "443" : "80"
        if let colon = host.lastIndex(of: ":"), !host[colon...].contains("]") {
            port = String(host[host.index(after: colon)...])
            host = String(host[..<colon])
        }
        return "\(scheme)://\(host):\(port)"
    }

    private static let accept = "application/hal+json, application/json"

    private func get<T: Decodable>(_ url: String, as type: T.Type, client: HTTPClient? = nil) throws -> T {
        let response = try (client ?? http).send("GET", url, accept: Self.accept)
        do {
            return try JSONDecoder().decode(T.self, from: Data(response.body))
        } catch {
            throw FleetError.protocolViolation(
                url: HTTPByteSource.redacted(url), detail: "unreadable document: \(error)")
        }
    }

    private func send(_ method: String, _ url: String, _ body: some Encodable) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        _ = try http.send(method, url, json: Array(try encoder.encode(body)), accept: Self.accept)
    }

    public func poll() throws -> DDI.ControllerBase { try get(base, as: DDI.ControllerBase.self, client: pollHTTP) }

    public func deployment(_ link: DDI.Link) throws -> DDI.DeploymentBase {
        try get(link.href, as: DDI.DeploymentBase.self)
    }

    public func cancelAction(_ link: DDI.Link) throws -> DDI.CancelAction {
        try get(link.href, as: DDI.CancelAction.self)
    }

    public func sendConfigData(_ link: DDI.Link, attributes: [String: String]) throws {
        try send("PUT", link.href, DDI.ConfigData(data: attributes))
    }

    /// Feedback goes to the deploymentBase (or cancelAction) href with `/feedback` after its path.
    public func sendFeedback(deployment link: DDI.Link, _ feedback: DDI.Feedback) throws {
        var href = link.href
        var query = ""
        if let mark = href.firstIndex(of: "?") {
            query = String(href[mark...])
            href = String(href[..<mark])
        }
        try send("POST", href + "/feedback" + query, feedback)
    }
}
