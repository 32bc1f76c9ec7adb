/// Bounds on bundle downloads (`[network]` in system.toml, docs/configuration.md). A server that
/// trickles must not hold the install lock for ever: a transfer slower than `lowSpeedLimit`
/// bytes per second for `lowSpeedTime` is cut, counts as a failed attempt, and is resumed, so a
/// download that does not progress ends after the retry budget.
public struct NetworkConfig: Sendable, Equatable {
    public static let defaultLowSpeedLimit = 1024
    public static let defaultLowSpeedTime: Duration = .seconds(30)

    /// Bytes per second, averaged by libcurl over its last few seconds, below which a transfer
    /// is too slow. 1 KiB/s: a bundle of 100 MiB would need more than a day at that rate.
    public var lowSpeedLimit: Int
    /// How long a transfer may stay below `lowSpeedLimit` before it is cut (whole seconds).
    public var lowSpeedTime: Duration

    public init(
        lowSpeedLimit: Int = NetworkConfig.defaultLowSpeedLimit,
        lowSpeedTime: Duration = NetworkConfig.defaultLowSpeedTime
    ) {
        self.lowSpeedLimit = lowSpeedLimit
        self.lowSpeedTime = lowSpeedTime
    }

    /// `lowSpeedTime` in whole seconds, as libcurl takes it.
    public var lowSpeedSeconds: Int { Int(lowSpeedTime.components.seconds) }
}
