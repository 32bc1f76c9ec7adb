/// The classes of failure that callers script against. Each maps to one documented exit code
/// (docs/cli.md); an error's message carries the context (which member, slot, offset).
public enum FailureClass: String, Sendable, CaseIterable, Codable {
    case usage
    case badBundle = "bad-bundle"
    case untrusted
    case incompatible
    case downgrade
    case io
    case busy
    case healthFailed = "health-failed"
    case config
    case state
    /// The bundle or the fleet server could not be reached, or the transfer failed after every
    /// retry: nothing about the bundle itself is known to be wrong.
    case network
    case internalError = "internal"

    /// Exit codes are part of the CLI contract: never renumber one.
    public var exitCode: Int32 {
        switch self {
        case .internalError: 1
        case .usage: 64
        case .badBundle: 10
        case .untrusted: 11
        case .incompatible: 12
        case .downgrade: 13
        case .io: 14
        case .busy: 15
        case .healthFailed: 16
        case .config: 17
        case .state: 18
        case .network: 19
        }
    }
}

/// An error that knows which failure class it belongs to, so the CLI can choose the exit code
/// without knowing every module's error type.
public protocol ClassifiedError: Error, CustomStringConvertible {
    var failureClass: FailureClass { get }
}
