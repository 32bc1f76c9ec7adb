import TwinslotCore

/// A refusal or failure as a bus client sees it: a D-Bus error named by the CLI's failure class
/// (docs/cli.md, "Exit codes") and the CLI's message, so a script branching on
/// `io.twinslot.Error.Busy` branches exactly where a shell script checks exit code 15.
public struct ServiceError: Error, CustomStringConvertible, Equatable, Sendable {
    public var failureClass: FailureClass
    public var message: String
    /// A standard D-Bus error name instead of the class's (AccessDenied).
    var standardName: String?

    public init(_ failureClass: FailureClass, _ message: String) {
        self.failureClass = failureClass
        self.message = message
    }

    /// Any error of the engine, classified as the CLI classifies it.
    public init(_ error: any Error) {
        if let error = error as? ServiceError {
            self = error
            return
        }
        self.init((error as? any ClassifiedError)?.failureClass ?? .internalError, String(describing: error))
    }

    public var description: String { message }

    /// `io.twinslot.Error.` and the class in UpperCamelCase: `bad-bundle` → `BadBundle`.
    public var busName: String { standardName ?? Self.busName(failureClass) }

    public static func busName(_ failureClass: FailureClass) -> String {
        let words = failureClass.rawValue.split(separator: "-").map { word in
            word == "io" ? "IO" : word.prefix(1).uppercased() + word.dropFirst()
        }
        return "io.twinslot.Error." + words.joined()
    }

    static func usage(_ message: String) -> ServiceError { ServiceError(.usage, message) }

    /// What the caller may not do, whatever the bundle: the bus's own AccessDenied, which the
    /// policy also answers for the members it keeps from ordinary users.
    static func accessDenied(_ message: String) -> ServiceError {
        var error = ServiceError(.usage, message)
        error.standardName = "org.freedesktop.DBus.Error.AccessDenied"
        return error
    }
}
