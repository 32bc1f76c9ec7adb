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

final class TableNode {
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

struct KeyPart {
    var name: String
    var line: Int
    var column: Int
}

func displayPath(_ parts: some Sequence<String>) -> String {
    parts.map(TOMLValue.renderKey).joined(separator: ".")
}

// MARK: - The scanner

struct TOMLScanner {
    let bytes: [UInt8]
    let sourcePath: String?
    var index = 0
    var line = 1
    var lineStart = 0
    /// How many arrays and inline tables enclose the value being parsed. The parser recurses
    /// once per level: a hostile or broken file 50,000 levels deep must be an error, not a
    /// stack overflow that kills the boot service.
    var depth = 0
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

    var column: Int { index - lineStart + 1 }

    func peek(_ offset: Int = 0) -> UInt8? {
        index + offset < bytes.count ? bytes[index + offset] : nil
    }

    func peekIs(_ ascii: Unicode.Scalar, _ offset: Int = 0) -> Bool {
        peek(offset) == UInt8(ascii: ascii)
    }

    mutating func advance() {
        if bytes[index] == UInt8(ascii: "\n") {
            line += 1
            lineStart = index + 1
        }
        index += 1
    }

    func error(_ message: String, line: Int? = nil, column: Int? = nil) -> ConfigError {
        ConfigError(sourcePath: sourcePath, line: line ?? self.line, column: column ?? self.column, message: message)
    }

    /// What is at the current position, for "expected X, found Y".
    func found() -> String {
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

    var atNewline: Bool {
        peekIs("\n") || (peekIs("\r") && peekIs("\n", 1))
    }

    mutating func consumeNewline() {
        if peekIs("\r") { advance() }
        advance()
    }

    mutating func skipSpaces() {
        while let byte = peek(), byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") { advance() }
    }

    /// Skips a comment up to (not including) the end of line; control characters are not allowed.
    mutating func skipComment() throws {
        advance()  // '#'
        while let byte = peek(), !atNewline {
            if (byte < 0x20 && byte != UInt8(ascii: "\t")) || byte == 0x7f {
                throw error("control character 0x\(String(byte, radix: 16)) in comment")
            }
            advance()
        }
    }

    /// Spaces, newlines and comments (inside arrays).
    mutating func skipBlank() throws {
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
    mutating func expectLineEnd(after what: String) throws {
        skipSpaces()
        if peekIs("#") { try skipComment() }
        if peek() == nil { return }
        guard atNewline else {
            throw error("unexpected \(found()) after \(what); expected end of line")
        }
        consumeNewline()
    }
}
