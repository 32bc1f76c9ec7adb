/// A TOML value as the configuration parser produces it. Every value remembers the 1-based line
/// where it starts, so that errors found later (wrong type, bad path, unknown key) can name it.
public indirect enum TOMLValue: Sendable, Equatable {
    case string(String, line: Int)
    case integer(Int64, line: Int)
    case float(Double, line: Int)
    case bool(Bool, line: Int)
    /// Static arrays and arrays of tables (`[[name]]`) alike; for an array of tables the line is
    /// that of its first header.
    case array([TOMLValue], line: Int)
    /// Header tables, implicit tables, dotted-key tables and inline tables alike.
    case table(TOMLTable, line: Int)

    /// The line where the value starts (for a table: its header, or its first key).
    public var line: Int {
        switch self {
        case .string(_, let line), .integer(_, let line), .float(_, let line), .bool(_, let line),
            .array(_, let line), .table(_, let line):
            line
        }
    }

    /// "a string", "an integer", … for messages such as "expected a string, got an integer".
    public var typeDescription: String {
        switch self {
        case .string: "a string"
        case .integer: "an integer"
        case .float: "a float"
        case .bool: "a boolean"
        case .array: "an array"
        case .table: "a table"
        }
    }

    public var stringValue: String? {
        if case .string(let value, _) = self { return value }
        return nil
    }

    public var integerValue: Int64? {
        if case .integer(let value, _) = self { return value }
        return nil
    }

    public var floatValue: Double? {
        if case .float(let value, _) = self { return value }
        return nil
    }

    public var boolValue: Bool? {
        if case .bool(let value, _) = self { return value }
        return nil
    }

    public var arrayValue: [TOMLValue]? {
        if case .array(let value, _) = self { return value }
        return nil
    }

    public var tableValue: TOMLTable? {
        if case .table(let value, _) = self { return value }
        return nil
    }

    /// A short rendering of the value for error messages: strings quoted, arrays and tables
    /// abbreviated.
    public var shortDescription: String {
        switch self {
        case .string(let value, _): TOMLValue.quoted(value)
        case .integer(let value, _): String(value)
        case .float(let value, _): String(value)
        case .bool(let value, _): String(value)
        case .array: "an array"
        case .table: "a table"
        }
    }

    /// `s` as a TOML basic string, quotes included, with `"`, `\` and control characters escaped.
    public static func quoted(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7f {
                    let hex = String(scalar.value, radix: 16, uppercase: true)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    /// `key` as written in a TOML document: bare when it can be, quoted otherwise.
    public static func renderKey(_ key: String) -> String {
        let bare =
            !key.isEmpty
            && key.utf8.allSatisfy { TOMLScanner.isBareKeyByte($0) }
        return bare ? key : quoted(key)
    }
}

/// A TOML table: its entries in the order their keys first appear in the document.
public struct TOMLTable: Sendable, Equatable {
    /// One key of a table, with where the key was written.
    public struct Entry: Sendable, Equatable {
        public var key: String
        /// The line of the key (for a table defined by a header: the header's line).
        public var line: Int
        public var column: Int
        public var value: TOMLValue

        public init(key: String, line: Int, column: Int, value: TOMLValue) {
            self.key = key
            self.line = line
            self.column = column
            self.value = value
        }
    }

    public var entries: [Entry]

    public init(entries: [Entry] = []) {
        self.entries = entries
    }

    public var keys: [String] { entries.map(\.key) }
    public var isEmpty: Bool { entries.isEmpty }
    public var count: Int { entries.count }

    public func entry(for key: String) -> Entry? {
        entries.first { $0.key == key }
    }

    public subscript(key: String) -> TOMLValue? {
        entry(for: key)?.value
    }
}
