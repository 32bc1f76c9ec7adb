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
    /// A transfer slower than `lowSpeedLimit` bytes per second for this many seconds is cut and
    /// resumed: a stalled one, and one that trickles (`[network] low-speed-time`).
    public var stallTimeout: Int = 30
    /// Bytes per second below which a transfer is too slow (`[network] low-speed-limit`).
    public var lowSpeedLimit: Int = 1024

    public init() {}
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

    /// Counts one more failed attempt in a row: throws once the budget is spent, else waits
    /// the backoff before the caller tries again.
    func failed(_ failuresInARow: inout Int, url: String, reason: String) throws {
        failuresInARow += 1
        guard failuresInARow < attempts else {
            throw FleetError.transferFailed(url: url, attempts: failuresInARow, reason: reason)
        }
        sleepSeconds(delay(afterFailure: failuresInARow))
    }
}
