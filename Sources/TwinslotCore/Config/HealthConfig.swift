/// Health checks run by the boot service after a trial boot, and the commit deadlines.
public struct HealthConfig: Sendable, Equatable {
    public static let defaultDeadlineBoots = 3

    /// In file order.
    public var checks: [HealthCheckConfig]
    /// Roll back if the new group is not committed within this many boots.
    public var deadlineBoots: Int
    /// Roll back if the new group is not committed within this time after the flip; nil: no
    /// time limit.
    public var deadline: Duration?

    public init(
        checks: [HealthCheckConfig] = [], deadlineBoots: Int = HealthConfig.defaultDeadlineBoots,
        deadline: Duration? = nil
    ) {
        self.checks = checks
        self.deadlineBoots = deadlineBoots
        self.deadline = deadline
    }
}

/// What a health check probes.
public enum HealthCheckKind: Sendable, Equatable {
    /// Run a program (no shell); healthy when it exits 0.
    case command([String])
    /// Healthy when the path exists.
    case file(path: String)
    /// Healthy when a Unix socket at the path accepts a connection.
    case socket(path: String)
    /// Healthy when a TCP connection to host:port succeeds.
    case tcp(host: String, port: Int)
    /// Healthy when a GET of the URL answers 2xx.
    case http(url: String)
    /// Healthy when the systemd unit is active.
    case systemd(unit: String)

    /// "command", "file", "socket", "tcp", "http" or "systemd", as written in the file.
    public var name: String {
        switch self {
        case .command: "command"
        case .file: "file"
        case .socket: "socket"
        case .tcp: "tcp"
        case .http: "http"
        case .systemd: "systemd"
        }
    }

    public static let names = ["command", "file", "socket", "tcp", "http", "systemd"]
}

/// One `[[health.check]]`.
public struct HealthCheckConfig: Sendable, Equatable {
    public static let defaultTimeout: Duration = .seconds(10)
    public static let defaultRetryDelay: Duration = .seconds(1)

    /// Unique among the checks.
    public var name: String
    public var kind: HealthCheckKind
    /// How long one attempt may take.
    public var timeout: Duration
    /// A failing required check rolls back; a failing optional one is only reported.
    public var required: Bool
    /// Attempts after the first failure.
    public var retries: Int
    /// Pause between attempts.
    public var retryDelay: Duration

    public init(
        name: String, kind: HealthCheckKind, timeout: Duration = HealthCheckConfig.defaultTimeout,
        required: Bool = true, retries: Int = 0, retryDelay: Duration = HealthCheckConfig.defaultRetryDelay
    ) {
        self.name = name
        self.kind = kind
        self.timeout = timeout
        self.required = required
        self.retries = retries
        self.retryDelay = retryDelay
    }
}

extension Duration {
    /// Parses a configuration duration: a whole number followed by `ms`, `s`, `m` or `h`
    /// ("500ms", "10s", "2m", "1h").
    public init?(configText text: String) {
        let digits = text.prefix { $0.isASCII && $0.isNumber }
        let unit = text.dropFirst(digits.count)
        guard !digits.isEmpty, digits.count <= 12, let value = Int64(digits) else { return nil }
        switch unit {
        case "ms": self = .milliseconds(value)
        case "s": self = .seconds(value)
        case "m": self = .seconds(value * 60)
        case "h": self = .seconds(value * 3600)
        default: return nil
        }
    }

    /// The duration in the configuration syntax, in the largest exact unit ("2m", "1500ms").
    /// Sub-millisecond parts are dropped.
    public var configText: String {
        let (seconds, attoseconds) = components
        let milliseconds = seconds * 1000 + attoseconds / 1_000_000_000_000_000
        if milliseconds != 0 && milliseconds % 3_600_000 == 0 { return "\(milliseconds / 3_600_000)h" }
        if milliseconds != 0 && milliseconds % 60_000 == 0 { return "\(milliseconds / 60_000)m" }
        if milliseconds % 1000 == 0 { return "\(milliseconds / 1000)s" }
        return "\(milliseconds)ms"
    }
}
