/// A failure of a bootloader backend: its message names the file, variable or command.
public struct BootError: ClassifiedError, Equatable {
    /// `.io` when the medium or a command failed, `.state` when the environment's content is
    /// unusable (bad header, wrong size, overflow, no valid copy), `.config` for a bad
    /// `fw_env.config` or backend setting.
    public var failureClass: FailureClass
    public var message: String

    public init(_ failureClass: FailureClass, _ message: String) {
        self.failureClass = failureClass
        self.message = message
    }

    public var description: String { message }

    static func state(_ message: String) -> BootError { BootError(.state, message) }
    static func io(_ message: String) -> BootError { BootError(.io, message) }
    static func config(_ message: String) -> BootError { BootError(.config, message) }
}
