#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Talks to one controller's DDI resource, `{server}/{tenant}/controller/v1/{controllerId}`,
/// with `Authorization: TargetToken` on every call, downloads included. It follows the hrefs
/// the server hands out instead of building URLs.
public final class DDIClient {
    public let base: String
    public let options: HTTPOptions
    private let http: HTTPClient

    public init(server: String, tenant: String, controllerID: String, token: String?, options: HTTPOptions) throws {
        guard HTTPByteSource.isHTTPURL(server) else {
            throw FleetError.invalidRequest("--server must be an http(s) URL, not \(server)")
        }
        guard !controllerID.isEmpty, !controllerID.contains("/"), !tenant.isEmpty, !tenant.contains("/") else {
            throw FleetError.invalidRequest("the tenant and the controller id must be non-empty and contain no '/'")
        }
        var trimmed = server
        while trimmed.hasSuffix("/") { trimmed.removeLast() }
        base = "\(trimmed)/\(tenant)/controller/v1/\(controllerID)"
        var options = options
        if let token { options.headers.append((name: "Authorization", value: "TargetToken \(token)")) }
        self.options = options
        http = try HTTPClient(options: options)
    }

    private init(base: String, options: HTTPOptions) throws {
        self.base = base
        self.options = options
        http = try HTTPClient(options: options)
    }

    /// The same client making one attempt per call: for messages that may be lost (progress).
    public func singleAttempt() throws -> DDIClient {
        var options = options
        options.retry.attempts = 1
        return try DDIClient(base: base, options: options)
    }

    private static let accept = "application/hal+json, application/json"

    private func get<T: Decodable>(_ url: String, as type: T.Type) throws -> T {
        let response = try http.send("GET", url, accept: Self.accept)
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

    public func poll() throws -> DDI.ControllerBase { try get(base, as: DDI.ControllerBase.self) }

    public func deployment(_ link: DDI.Link) throws -> DDI.DeploymentBase {
        try get(link.href, as: DDI.DeploymentBase.self)
    }

    public func sendConfigData(_ link: DDI.Link, attributes: [String: String]) throws {
        try send("PUT", link.href, DDI.ConfigData(data: attributes))
    }

    /// Feedback goes to the deploymentBase href with `/feedback` after its path.
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
