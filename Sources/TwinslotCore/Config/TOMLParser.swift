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

/// A small, strict TOML parser for configuration files.
///
/// Supported: comments; bare, quoted and dotted keys; `[table]`, `[a.b]` and `[[array.of.tables]]`
/// headers; basic strings (escapes `\b \t \n \f \r \" \\ \uXXXX \UXXXXXXXX`), literal strings,
/// and their multi-line forms; integers (decimal with `_`, `0x`, `0o`, `0b`); floats (decimal,
/// exponent, `inf`, `nan`); booleans; arrays (multi-line, trailing comma); inline tables.
/// Not supported: dates and times (rejected with a clear error). The TOML 1.0 rules on defining a
/// table or key twice are enforced.
public enum TOMLParser {
    /// Parses `text` into its root table. Errors are `ConfigError`s naming `sourcePath`, the line
    /// and the column.
    public static func parse(_ text: String, sourcePath: String? = nil) throws -> TOMLTable {
        var scanner = TOMLScanner(text: text, sourcePath: sourcePath)
        let root = try scanner.parseDocument()
        return root.converted()
    }
}

// MARK: - The mutable tree built while parsing

private final class TableNode {
    enum Origin {
        /// Created as the parent of a header (`a` for `[a.b]`): may still get its own header once.
        case implicit
        /// Defined by a `[header]` (or the root table).
        case header
        /// Created by a dotted key (`a.b = 1` creates `a`): may be extended by dotted keys only.
        case dotted
    }

    enum Item {
        case table(TableNode)
        case tableArray([TableNode], line: Int)
        case value(TOMLValue)
    }

    struct Slot {
        var line: Int
        var column: Int
        var item: Item
    }

    var origin: Origin
    var line: Int
    var order: [String] = []
    var items: [String: Slot] = [:]

    init(origin: Origin, line: Int) {
        self.origin = origin
        self.line = line
    }

    func set(_ key: String, _ slot: Slot) {
        if items[key] == nil { order.append(key) }
        items[key] = slot
    }

    func converted() -> TOMLTable {
        TOMLTable(
            entries: order.map { key in
                let slot = items[key]!
                let value: TOMLValue =
                    switch slot.item {
                    case .table(let table): .table(table.converted(), line: table.line)
                    case .tableArray(let tables, let line):
                        .array(tables.map { .table($0.converted(), line: $0.line) }, line: line)
                    case .value(let value): value
                    }
                return TOMLTable.Entry(key: key, line: slot.line, column: slot.column, value: value)
            })
    }
}

private struct KeyPart {
    var name: String
    var line: Int
    var column: Int
}

private func displayPath(_ parts: some Sequence<String>) -> String {
    parts.map(TOMLValue.renderKey).joined(separator: ".")
}

// MARK: - The scanner

private struct TOMLScanner {
    private let bytes: [UInt8]
    private let sourcePath: String?
    private var index = 0
    private var line = 1
    private var lineStart = 0
    /// How many arrays and inline tables enclose the value being parsed. The parser recurses
    /// once per level: a hostile or broken file 50,000 levels deep must be an error, not a
    /// stack overflow that kills the boot service.
    private var depth = 0
    /// The most nested arrays and inline tables, and the most parts of one dotted key (each part
    /// is a table level too).
    static let maxDepth = 64

    init(text: String, sourcePath: String?) {
        self.bytes = Array(text.utf8)
        self.sourcePath = sourcePath
    }

    static func isBareKeyByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "-"):
            true
        default: false
        }
    }

    // MARK: Low-level

    private var column: Int { index - lineStart + 1 }

    private func peek(_ offset: Int = 0) -> UInt8? {
        index + offset < bytes.count ? bytes[index + offset] : nil
    }

    private func peekIs(_ ascii: Unicode.Scalar, _ offset: Int = 0) -> Bool {
        peek(offset) == UInt8(ascii: ascii)
    }

    private mutating func advance() {
        if bytes[index] == UInt8(ascii: "\n") {
            line += 1
            lineStart = index + 1
        }
        index += 1
    }

    private func error(_ message: String, line: Int? = nil, column: Int? = nil) -> ConfigError {
        ConfigError(sourcePath: sourcePath, line: line ?? self.line, column: column ?? self.column, message: message)
    }

    /// What is at the current position, for "expected X, found Y".
    private func found() -> String {
        guard let byte = peek() else { return "end of file" }
        if byte == UInt8(ascii: "\n") || (byte == UInt8(ascii: "\r") && peekIs("\n", 1)) { return "end of line" }
        if byte >= 0x21 && byte < 0x7f { return "'\(Character(Unicode.Scalar(byte)))'" }
        if byte == 0x20 { return "a space" }
        if byte < 0x80 { return "control character 0x\(String(byte, radix: 16))" }
        // A multi-byte character: show it whole.
        var end = index + 1
        while end < bytes.count, bytes[end] & 0xC0 == 0x80 { end += 1 }
        return "'\(String(decoding: bytes[index..<end], as: UTF8.self))'"
    }

    private var atNewline: Bool {
        peekIs("\n") || (peekIs("\r") && peekIs("\n", 1))
    }

    private mutating func consumeNewline() {
        if peekIs("\r") { advance() }
        advance()
    }

    private mutating func skipSpaces() {
        while let byte = peek(), byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") { advance() }
    }

    /// Skips a comment up to (not including) the end of line; control characters are not allowed.
    private mutating func skipComment() throws {
        advance()  // '#'
        while let byte = peek(), !atNewline {
            if (byte < 0x20 && byte != UInt8(ascii: "\t")) || byte == 0x7f {
                throw error("control character 0x\(String(byte, radix: 16)) in comment")
            }
            advance()
        }
    }

    /// Spaces, newlines and comments (inside arrays).
    private mutating func skipBlank() throws {
        while true {
            skipSpaces()
            if peekIs("#") {
                try skipComment()
            } else if atNewline {
                consumeNewline()
            } else {
                return
            }
        }
    }

    /// After a header or a key/value pair: only spaces and a comment may follow on the line.
    private mutating func expectLineEnd(after what: String) throws {
        skipSpaces()
        if peekIs("#") { try skipComment() }
        if peek() == nil { return }
        guard atNewline else {
            throw error("unexpected \(found()) after \(what); expected end of line")
        }
        consumeNewline()
    }

    // MARK: Document

    mutating func parseDocument() throws -> TableNode {
        let root = TableNode(origin: .header, line: 1)
        var current = root
        var currentPath: [String] = []
        while true {
            skipSpaces()
            guard peek() != nil else { break }
            if peekIs("#") {
                try skipComment()
                continue
            }
            if atNewline {
                consumeNewline()
                continue
            }
            if peekIs("\r") { throw error("carriage return not followed by a newline") }
            if peekIs("[") {
                let headerLine = line
                let headerColumn = column
                advance()
                let isArray = peekIs("[")
                if isArray { advance() }
                skipSpaces()
                let parts = try parseKey()
                skipSpaces()
                guard peekIs("]") else {
                    throw error("expected '\(isArray ? "]]" : "]")' to close the table header, found \(found())")
                }
                advance()
                if isArray {
                    guard peekIs("]") else { throw error("expected ']]' to close the array of tables header") }
                    advance()
                }
                try expectLineEnd(after: "table header")
                current =
                    isArray
                    ? try appendTableArray(root, parts, line: headerLine, column: headerColumn)
                    : try defineTable(root, parts, line: headerLine, column: headerColumn)
                currentPath = parts.map(\.name)
                continue
            }
            let parts = try parseKey()
            skipSpaces()
            guard peekIs("=") else {
                throw error("expected '=' after key '\(displayPath(parts.map(\.name)))', found \(found())")
            }
            advance()
            skipSpaces()
            let value = try parseValue(path: currentPath + parts.map(\.name))
            try insert(value, at: parts, into: current, prefix: currentPath)
            try expectLineEnd(after: "value")
        }
        return root
    }

    // MARK: Keys

    private mutating func parseKey() throws -> [KeyPart] {
        var parts: [KeyPart] = []
        while true {
            skipSpaces()
            guard parts.count < Self.maxDepth else {
                throw error("a dotted key with more than \(Self.maxDepth) parts nests too deep")
            }
            parts.append(try parseSimpleKey())
            skipSpaces()
            guard peekIs(".") else { return parts }
            advance()
        }
    }

    private mutating func parseSimpleKey() throws -> KeyPart {
        let keyLine = line
        let keyColumn = column
        if peekIs("\"") {
            if peekIs("\"", 1) && peekIs("\"", 2) { throw error("a multi-line string cannot be a key") }
            return KeyPart(name: try parseBasicString(), line: keyLine, column: keyColumn)
        }
        if peekIs("'") {
            if peekIs("'", 1) && peekIs("'", 2) { throw error("a multi-line string cannot be a key") }
            return KeyPart(name: try parseLiteralString(), line: keyLine, column: keyColumn)
        }
        let start = index
        while let byte = peek(), Self.isBareKeyByte(byte) { advance() }
        guard index > start else {
            throw error("expected a key, found \(found())")
        }
        return KeyPart(name: String(decoding: bytes[start..<index], as: UTF8.self), line: keyLine, column: keyColumn)
    }

    // MARK: Tables

    private func valueConflict(_ path: String, _ value: TOMLValue, line: Int, column: Int) -> ConfigError {
        if case .table = value {
            return error(
                "cannot extend inline table '\(path)' (defined on line \(value.line))", line: line, column: column)
        }
        return error("key '\(path)' is already defined as a value on line \(value.line)", line: line, column: column)
    }

    /// Walks the prefix of a header's key (`a.b` of `[a.b.c]`), creating implicit tables.
    private func walkHeaderPrefix(_ root: TableNode, _ parts: [KeyPart], line: Int, column: Int) throws -> TableNode {
        var node = root
        for (position, part) in parts.dropLast().enumerated() {
            let path = displayPath(parts[...position].map(\.name))
            if let slot = node.items[part.name] {
                switch slot.item {
                case .table(let table): node = table
                case .tableArray(let tables, _): node = tables.last!
                case .value(let value): throw valueConflict(path, value, line: line, column: column)
                }
            } else {
                let table = TableNode(origin: .implicit, line: line)
                node.set(part.name, .init(line: line, column: part.column, item: .table(table)))
                node = table
            }
        }
        return node
    }

    private func defineTable(_ root: TableNode, _ parts: [KeyPart], line: Int, column: Int) throws -> TableNode {
        let parent = try walkHeaderPrefix(root, parts, line: line, column: column)
        let last = parts.last!
        let path = displayPath(parts.map(\.name))
        guard let slot = parent.items[last.name] else {
            let table = TableNode(origin: .header, line: line)
            parent.set(last.name, .init(line: line, column: last.column, item: .table(table)))
            return table
        }
        switch slot.item {
        case .table(let table):
            switch table.origin {
            case .implicit:
                table.origin = .header
                table.line = line
                parent.items[last.name]!.line = line
                return table
            case .header:
                throw error(
                    "duplicate table [\(path)] (first defined on line \(table.line))", line: line, column: column)
            case .dotted:
                throw error(
                    "table [\(path)] is already defined by dotted keys on line \(table.line)", line: line,
                    column: column)
            }
        case .tableArray(_, let arrayLine):
            throw error(
                "table [\(path)] conflicts with the array of tables [[\(path)]] on line \(arrayLine)", line: line,
                column: column)
        case .value(let value):
            throw valueConflict(path, value, line: line, column: column)
        }
    }

    private func appendTableArray(_ root: TableNode, _ parts: [KeyPart], line: Int, column: Int) throws -> TableNode {
        let parent = try walkHeaderPrefix(root, parts, line: line, column: column)
        let last = parts.last!
        let path = displayPath(parts.map(\.name))
        let table = TableNode(origin: .header, line: line)
        guard let slot = parent.items[last.name] else {
            parent.set(last.name, .init(line: line, column: last.column, item: .tableArray([table], line: line)))
            return table
        }
        switch slot.item {
        case .tableArray(let tables, let arrayLine):
            parent.items[last.name]!.item = .tableArray(tables + [table], line: arrayLine)
            return table
        case .table(let existing):
            throw error(
                "array of tables [[\(path)]] conflicts with the table [\(path)] on line \(existing.line)",
                line: line, column: column)
        case .value(let value):
            if case .array = value {
                throw error(
                    "cannot append to '\(path)' with [[\(path)]]: it is a static array defined on line \(value.line)",
                    line: line, column: column)
            }
            throw valueConflict(path, value, line: line, column: column)
        }
    }

    /// Inserts a key/value pair whose key may be dotted, creating dotted-key tables.
    private func insert(_ value: TOMLValue, at parts: [KeyPart], into table: TableNode, prefix: [String]) throws {
        var node = table
        for (position, part) in parts.dropLast().enumerated() {
            let path = displayPath(prefix + parts[...position].map(\.name))
            if let slot = node.items[part.name] {
                switch slot.item {
                case .table(let child) where child.origin == .dotted:
                    node = child
                case .table(let child):
                    throw error(
                        "cannot add keys to table [\(path)] (defined on line \(child.line)) with a dotted key",
                        line: part.line, column: part.column)
                case .tableArray(_, let arrayLine):
                    throw error(
                        "cannot add keys to the array of tables [[\(path)]] (line \(arrayLine)) with a dotted key",
                        line: part.line, column: part.column)
                case .value(let existing):
                    throw valueConflict(path, existing, line: part.line, column: part.column)
                }
            } else {
                let child = TableNode(origin: .dotted, line: part.line)
                node.set(part.name, .init(line: part.line, column: part.column, item: .table(child)))
                node = child
            }
        }
        let last = parts.last!
        if let slot = node.items[last.name] {
            let path = displayPath(prefix + parts.map(\.name))
            throw error(
                "duplicate key '\(path)' (first defined on line \(slot.line))", line: last.line, column: last.column)
        }
        node.set(last.name, .init(line: last.line, column: last.column, item: .value(value)))
    }

    // MARK: Values

    private mutating func parseValue(path: [String]) throws -> TOMLValue {
        let valueLine = line
        guard let byte = peek() else { throw error("expected a value, found end of file") }
        switch byte {
        case UInt8(ascii: "\""):
            if peekIs("\"", 1) && peekIs("\"", 2) {
                return .string(try parseMultilineBasicString(), line: valueLine)
            }
            return .string(try parseBasicString(), line: valueLine)
        case UInt8(ascii: "'"):
            if peekIs("'", 1) && peekIs("'", 2) {
                return .string(try parseMultilineLiteralString(), line: valueLine)
            }
            return .string(try parseLiteralString(), line: valueLine)
        case UInt8(ascii: "["):
            return try parseArray(path: path)
        case UInt8(ascii: "{"):
            return try parseInlineTable(path: path)
        default:
            return try parseScalar()
        }
    }

    /// One level deeper into arrays and inline tables, refused beyond `maxDepth`.
    private mutating func enterNesting() throws {
        guard depth < Self.maxDepth else {
            throw error("arrays and inline tables nested deeper than \(Self.maxDepth) levels")
        }
        depth += 1
    }

    private mutating func parseArray(path: [String]) throws -> TOMLValue {
        let startLine = line
        let startColumn = column
        try enterNesting()
        defer { depth -= 1 }
        advance()  // '['
        var items: [TOMLValue] = []
        while true {
            try skipBlank()
            if peekIs("]") {
                advance()
                break
            }
            guard peek() != nil else {
                throw error("unterminated array (opened on line \(startLine))", line: startLine, column: startColumn)
            }
            if peekIs(",") { throw error("expected a value in array, found ','") }
            items.append(try parseValue(path: path))
            try skipBlank()
            if peekIs(",") {
                advance()
            } else if peekIs("]") {
                advance()
                break
            } else if peek() == nil {
                throw error("unterminated array (opened on line \(startLine))", line: startLine, column: startColumn)
            } else {
                throw error("expected ',' or ']' in array, found \(found())")
            }
        }
        return .array(items, line: startLine)
    }

    private mutating func parseInlineTable(path: [String]) throws -> TOMLValue {
        let startLine = line
        let startColumn = column
        try enterNesting()
        defer { depth -= 1 }
        advance()  // '{'
        let table = TableNode(origin: .header, line: startLine)
        skipSpaces()
        if peekIs("}") {
            advance()
            return .table(table.converted(), line: startLine)
        }
        while true {
            skipSpaces()
            if peek() == nil || atNewline {
                throw error(
                    "unterminated inline table (opened on line \(startLine)); inline tables must be on one line",
                    line: startLine, column: startColumn)
            }
            let parts = try parseKey()
            skipSpaces()
            guard peekIs("=") else {
                throw error("expected '=' after key '\(displayPath(parts.map(\.name)))', found \(found())")
            }
            advance()
            skipSpaces()
            let value = try parseValue(path: path + parts.map(\.name))
            try insert(value, at: parts, into: table, prefix: path)
            skipSpaces()
            if peekIs(",") {
                advance()
                skipSpaces()
                if peekIs("}") { throw error("trailing comma is not allowed in an inline table") }
            } else if peekIs("}") {
                advance()
                return .table(table.converted(), line: startLine)
            } else if peek() == nil || atNewline {
                throw error(
                    "unterminated inline table (opened on line \(startLine)); inline tables must be on one line",
                    line: startLine, column: startColumn)
            } else {
                throw error("expected ',' or '}' in inline table, found \(found())")
            }
        }
    }

    // MARK: Strings

    private func controlCharacterError(_ byte: UInt8) -> ConfigError {
        let hex = String(byte, radix: 16, uppercase: true)
        return error(
            "control character U+\(String(repeating: "0", count: 4 - hex.count))\(hex) in a string must be escaped")
    }

    private func isControl(_ byte: UInt8) -> Bool {
        (byte < 0x20 && byte != UInt8(ascii: "\t")) || byte == 0x7f
    }

    private mutating func parseBasicString() throws -> String {
        let startLine = line
        let startColumn = column
        advance()  // '"'
        var out: [UInt8] = []
        while true {
            guard let byte = peek(), !atNewline, byte != UInt8(ascii: "\n") else {
                throw error("unterminated string", line: startLine, column: startColumn)
            }
            switch byte {
            case UInt8(ascii: "\""):
                advance()
                return String(decoding: out, as: UTF8.self)
            case UInt8(ascii: "\\"):
                try parseEscape(into: &out)
            default:
                if isControl(byte) { throw controlCharacterError(byte) }
                out.append(byte)
                advance()
            }
        }
    }

    private mutating func parseEscape(into out: inout [UInt8]) throws {
        let escapeColumn = column
        advance()  // '\'
        guard let byte = peek() else { throw error("unterminated string") }
        advance()
        switch byte {
        case UInt8(ascii: "b"): out.append(0x08)
        case UInt8(ascii: "t"): out.append(0x09)
        case UInt8(ascii: "n"): out.append(0x0A)
        case UInt8(ascii: "f"): out.append(0x0C)
        case UInt8(ascii: "r"): out.append(0x0D)
        case UInt8(ascii: "e"): out.append(0x1B)
        case UInt8(ascii: "\""): out.append(UInt8(ascii: "\""))
        case UInt8(ascii: "\\"): out.append(UInt8(ascii: "\\"))
        case UInt8(ascii: "u"), UInt8(ascii: "U"):
            let count = byte == UInt8(ascii: "u") ? 4 : 8
            var value: UInt32 = 0
            for _ in 0..<count {
                guard let digit = peek(), let nibble = hexValue(digit) else {
                    throw error(
                        "invalid Unicode escape: \\\(Character(Unicode.Scalar(byte))) needs \(count) hex digits",
                        column: escapeColumn)
                }
                value = value << 4 | UInt32(nibble)
                advance()
            }
            guard let scalar = Unicode.Scalar(value) else {
                throw error(
                    "invalid Unicode escape: U+\(String(value, radix: 16, uppercase: true)) is not a Unicode scalar value",
                    column: escapeColumn)
            }
            out.append(contentsOf: Array(String(Character(scalar)).utf8))
        default:
            let shown =
                byte >= 0x21 && byte < 0x7f ? String(Character(Unicode.Scalar(byte))) : "0x\(String(byte, radix: 16))"
            throw error("invalid escape sequence '\\\(shown)' in string", column: escapeColumn)
        }
    }

    private func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    private mutating func parseMultilineBasicString() throws -> String {
        let startLine = line
        let startColumn = column
        advance()
        advance()
        advance()
        if atNewline { consumeNewline() }
        var out: [UInt8] = []
        while true {
            guard let byte = peek() else {
                throw error("unterminated multi-line string", line: startLine, column: startColumn)
            }
            if atNewline {
                consumeNewline()
                out.append(0x0A)
                continue
            }
            switch byte {
            case UInt8(ascii: "\""):
                var run = 0
                while peekIs("\"") {
                    run += 1
                    advance()
                }
                if run >= 3 {
                    if run > 5 { throw error("too many quotes at the end of a multi-line string") }
                    out.append(contentsOf: Array(repeating: UInt8(ascii: "\""), count: run - 3))
                    return String(decoding: out, as: UTF8.self)
                }
                out.append(contentsOf: Array(repeating: UInt8(ascii: "\""), count: run))
            case UInt8(ascii: "\\"):
                // A line-ending backslash trims the newline and the whitespace that follows.
                var look = 1
                while peek(look) == UInt8(ascii: " ") || peek(look) == UInt8(ascii: "\t") { look += 1 }
                if peek(look) == UInt8(ascii: "\n") || (peek(look) == UInt8(ascii: "\r") && peek(look + 1) == 0x0A) {
                    advance()
                    while let next = peek(),
                        next == UInt8(ascii: " ") || next == UInt8(ascii: "\t") || next == 0x0A
                            || (next == 0x0D && peekIs("\n", 1))
                    {
                        advance()
                    }
                } else {
                    try parseEscape(into: &out)
                }
            default:
                if isControl(byte) { throw controlCharacterError(byte) }
                out.append(byte)
                advance()
            }
        }
    }

    private mutating func parseLiteralString() throws -> String {
        let startLine = line
        let startColumn = column
        advance()  // '
        let start = index
        while true {
            guard let byte = peek(), !atNewline, byte != UInt8(ascii: "\n") else {
                throw error("unterminated string", line: startLine, column: startColumn)
            }
            if byte == UInt8(ascii: "'") {
                let text = String(decoding: bytes[start..<index], as: UTF8.self)
                advance()
                return text
            }
            if isControl(byte) { throw controlCharacterError(byte) }
            advance()
        }
    }

    private mutating func parseMultilineLiteralString() throws -> String {
        let startLine = line
        let startColumn = column
        advance()
        advance()
        advance()
        if atNewline { consumeNewline() }
        var out: [UInt8] = []
        while true {
            guard let byte = peek() else {
                throw error("unterminated multi-line string", line: startLine, column: startColumn)
            }
            if atNewline {
                consumeNewline()
                out.append(0x0A)
                continue
            }
            if byte == UInt8(ascii: "'") {
                var run = 0
                while peekIs("'") {
                    run += 1
                    advance()
                }
                if run >= 3 {
                    if run > 5 { throw error("too many quotes at the end of a multi-line string") }
                    out.append(contentsOf: Array(repeating: UInt8(ascii: "'"), count: run - 3))
                    return String(decoding: out, as: UTF8.self)
                }
                out.append(contentsOf: Array(repeating: UInt8(ascii: "'"), count: run))
                continue
            }
            if isControl(byte) { throw controlCharacterError(byte) }
            out.append(byte)
            advance()
        }
    }

    // MARK: Numbers and booleans

    private mutating func parseScalar() throws -> TOMLValue {
        let startLine = line
        let startColumn = column
        let start = index
        while let byte = peek(), Self.isScalarByte(byte) { advance() }
        guard index > start else {
            throw error("expected a value, found \(found())")
        }
        let token = String(decoding: bytes[start..<index], as: UTF8.self)
        func fail(_ message: String) -> ConfigError {
            error(message, line: startLine, column: startColumn)
        }
        switch token {
        case "true": return .bool(true, line: startLine)
        case "false": return .bool(false, line: startLine)
        case "inf", "+inf": return .float(.infinity, line: startLine)
        case "-inf": return .float(-.infinity, line: startLine)
        case "nan", "+nan", "-nan": return .float(.nan, line: startLine)
        default: break
        }
        if token.contains(":") || Self.looksLikeDate(token) {
            throw fail("dates and times are not supported; write '\(token)' as a string")
        }
        let utf8 = Array(token.utf8)
        if utf8.count > 2, utf8[0] == UInt8(ascii: "0"),
            let radix = [UInt8(ascii: "x"): 16, UInt8(ascii: "o"): 8, UInt8(ascii: "b"): 2][utf8[1]]
        {
            let digits = String(token.dropFirst(2))
            guard Self.validDigits(digits, radix: radix) else { throw fail("invalid integer '\(token)'") }
            guard let value = Int64(digits.replacingUnderscores(), radix: radix) else {
                throw fail("integer '\(token)' is out of range")
            }
            return .integer(value, line: startLine)
        }
        var body = Substring(token)
        if body.first == "+" || body.first == "-" { body = body.dropFirst() }
        if body.allSatisfy({ $0.isASCIIDigit || $0 == "_" }) {
            guard Self.validDigits(String(body), radix: 10), !(body.count > 1 && body.first == "0") else {
                throw fail("invalid integer '\(token)'")
            }
            guard let value = Int64(token.replacingUnderscores()) else {
                throw fail("integer '\(token)' is out of range")
            }
            return .integer(value, line: startLine)
        }
        if let first = body.first, first.isASCIIDigit, Self.validFloat(body) {
            guard let value = Double(token.replacingUnderscores()) else { throw fail("invalid float '\(token)'") }
            return .float(value, line: startLine)
        }
        if let first = token.first, first.isASCIIDigit || first == "+" || first == "-" || first == "." {
            throw fail("invalid number '\(token)'")
        }
        throw fail("invalid value '\(token)'; strings must be in quotes")
    }

    private static func isScalarByte(_ byte: UInt8) -> Bool {
        isBareKeyByte(byte) || byte == UInt8(ascii: "+") || byte == UInt8(ascii: ".") || byte == UInt8(ascii: ":")
    }

    private static func looksLikeDate(_ token: String) -> Bool {
        let utf8 = Array(token.utf8)
        return utf8.count >= 5 && utf8[0..<4].allSatisfy { (0x30...0x39).contains($0) } && utf8[4] == UInt8(ascii: "-")
    }

    /// Digits of `radix` with single underscores between digits only.
    private static func validDigits(_ s: String, radix: Int) -> Bool {
        guard !s.isEmpty, s.first != "_", s.last != "_", !s.contains("__") else { return false }
        return s.allSatisfy { $0 == "_" || ($0.hexDigitValue.map { $0 < radix } ?? false) }
    }

    /// `int [. frac] [e [+-] exp]` with at least a fraction or an exponent, no sign on `body`.
    private static func validFloat(_ body: Substring) -> Bool {
        var rest = body
        let exponentIndex = rest.firstIndex { $0 == "e" || $0 == "E" }
        var exponent: Substring? = nil
        if let exponentIndex {
            exponent = rest[rest.index(after: exponentIndex)...]
            rest = rest[..<exponentIndex]
        }
        let parts = rest.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count <= 2, validDigits(String(parts[0]), radix: 10),
            !(parts[0].count > 1 && parts[0].first == "0")
        else { return false }
        if parts.count == 2 && !validDigits(String(parts[1]), radix: 10) { return false }
        if var exponent {
            if exponent.first == "+" || exponent.first == "-" { exponent = exponent.dropFirst() }
            if !validDigits(String(exponent), radix: 10) { return false }
        }
        return parts.count == 2 || exponent != nil
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { isASCII && isNumber }
}

extension String {
    fileprivate func replacingUnderscores() -> String { filter { $0 != "_" } }
}
