/// A problem with the system configuration: a TOML syntax error, a value of the wrong type or out
/// of range, an unknown or missing key, or a file that cannot be read.
///
/// The description always starts with the file and, when known, the line:
/// `/etc/twinslot/system.toml: line 12: slot 'rootfs' key 'type': expected "raw", "directory" or "oci", got "ext4"`.
public struct ConfigError: ClassifiedError, Equatable {
    /// The file the configuration came from, when known.
    public var sourcePath: String?
    /// 1-based line number, when the problem is tied to one line.
    public var line: Int?
    /// 1-based column (in UTF-8 bytes), for syntax errors.
    public var column: Int?
    /// What is wrong, without the file and line prefix.
    public var message: String

    public init(sourcePath: String? = nil, line: Int? = nil, column: Int? = nil, message: String) {
        self.sourcePath = sourcePath
        self.line = line
        self.column = column
        self.message = message
    }

    public var failureClass: FailureClass { .config }

    public var description: String {
        var text = ""
        if let sourcePath { text += "\(sourcePath): " }
        if let line { text += "line \(line): " }
        text += message
        if line != nil, let column { text += " (column \(column))" }
        return text
    }
}
