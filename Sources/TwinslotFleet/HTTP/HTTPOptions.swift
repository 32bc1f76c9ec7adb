/// How to reach a server: TLS trust, client identity, headers, and how hard to try.
public struct HTTPOptions: Sendable {
    /// A PEM file of CA certificates that replaces the system trust store (a pinned CA).
    public var caFile: String?
    /// A client certificate (PEM) and its key, for servers that authenticate devices by TLS.
    public var clientCertificate: String?
    public var clientKey: String?
    /// Extra request headers, e.g. `Authorization: TargetToken …`.
    public var headers: [(name: String, value: String)] = []
    public var retry = RetryPolicy()
    /// Seconds to wait for a connection.
    public var connectTimeout: Int = 15
    /// A transfer that moves no byte for this many seconds is dropped and resumed.
    public var stallTimeout: Int = 30

    public init() {}

    public init(from other: HTTPOptions, adding headers: [(name: String, value: String)]) {
        self = other
        self.headers += headers
    }
}

/// Retries with exponential backoff and jitter. The budget counts failed attempts in a row:
/// an attempt that delivered new bytes resets it, so a long download over a flaky link keeps
/// going as long as it makes progress.
public struct RetryPolicy: Sendable {
    public var attempts: Int = 6
    public var initialDelay: Double = 0.5
    public var maximumDelay: Double = 30

    public init(attempts: Int = 6, initialDelay: Double = 0.5, maximumDelay: Double = 30) {
        self.attempts = attempts
        self.initialDelay = initialDelay
        self.maximumDelay = maximumDelay
    }

    /// The pause before retry number `failure` (1-based): doubling, capped, then scaled by a
    /// random factor in 0.5...1 so that a fleet does not come back in lockstep.
    public func delay(afterFailure failure: Int) -> Double {
        let exponential = initialDelay * Double(1 << min(max(failure - 1, 0), 20))
        return min(exponential, maximumDelay) * Double.random(in: 0.5...1)
    }
}
