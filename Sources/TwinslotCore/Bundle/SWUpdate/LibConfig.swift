/// A value of a libconfig document (the syntax of SWUpdate's `sw-description`), with the line it
/// starts on so that errors can point at it.
public struct LibConfigValue: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// `{ name = value; … }`: named settings, in file order, names unique.
        case group([LibConfigSetting])
        /// `( value, … )`: values of any kind.
        case list([LibConfigValue])
        /// `[ scalar, … ]`: scalars of one kind.
        case array([LibConfigValue])
        case string(String)
        case integer(Int64)
        case float(Double)
        case boolean(Bool)
    }

    public var kind: Kind
    public var line: Int

    public init(_ kind: Kind, line: Int) {
        self.kind = kind
        self.line = line
    }

    /// The setting `name` of a group, nil if absent or not a group.
    public subscript(name: String) -> LibConfigValue? {
        guard case .group(let settings) = kind else { return nil }
        return settings.first { $0.name == name }?.value
    }

    public var stringValue: String? {
        if case .string(let text) = kind { return text }
        return nil
    }

    public var integerValue: Int64? {
        if case .integer(let number) = kind { return number }
        return nil
    }

    public var booleanValue: Bool? {
        if case .boolean(let flag) = kind { return flag }
        return nil
    }

    /// The elements of a list or an array.
    public var elements: [LibConfigValue]? {
        switch kind {
        case .list(let values), .array(let values): values
        default: nil
        }
    }

    public var settings: [LibConfigSetting]? {
        if case .group(let settings) = kind { return settings }
        return nil
    }

    /// "a string", "a group", …, for messages.
    public var typeDescription: String {
        switch kind {
        case .group: "a group"
        case .list: "a list"
        case .array: "an array"
        case .string: "a string"
        case .integer: "an integer"
        case .float: "a float"
        case .boolean: "a boolean"
        }
    }
}

public struct LibConfigSetting: Sendable, Equatable {
    public var name: String
    public var value: LibConfigValue
}

public struct LibConfigError: Error, Sendable, Equatable, CustomStringConvertible {
    public var line: Int
    public var message: String
    public var description: String { "line \(line): \(message)" }
}

/// A strict parser for the subset of libconfig that `sw-description` files use: settings
/// `name = value;` or `name: value` (the `;` or `,` after a setting optional, as in libconfig),
/// groups `{}`, lists `()`, arrays `[]` of scalars of one kind, strings with escapes (adjacent
/// strings are joined), integers (decimal or `0x` hex, optional `L`/`LL`), floats, booleans,
/// and `#`, `//`, `/* */` comments. `@include` is refused, as SWUpdate refuses it.
public enum LibConfig {
    /// Parses a whole document: the implicit top-level group.
    public static func parse(_ bytes: [UInt8]) throws -> LibConfigValue {
        var parser = Parser(bytes: bytes)
        let settings = try parser.settingList(closing: nil)
        return LibConfigValue(.group(settings), line: 1)
    }

    public static func parse(_ text: String) throws -> LibConfigValue { try parse(Array(text.utf8)) }

    struct Parser {
        let bytes: [UInt8]
        var position = 0
        var line = 1
        /// Nesting depth, bounded so that hostile input cannot exhaust the stack.
        var depth = 0
        static let maxDepth = 64

        init(bytes: [UInt8]) { self.bytes = bytes }

        func fail(_ message: String, line: Int? = nil) -> LibConfigError {
            LibConfigError(line: line ?? self.line, message: message)
        }

        var peek: UInt8? { position < bytes.count ? bytes[position] : nil }

        func describe(_ byte: UInt8?) -> String {
            guard let byte else { return "the end of the file" }
            if byte >= 0x21 && byte < 0x7f { return "'\(Character(Unicode.Scalar(byte)))'" }
            return "byte 0x" + String(byte, radix: 16)
        }

        /// Skips white space and comments.
        mutating func skip() throws {
            while let byte = peek {
                switch byte {
                case 0x0a:
                    line += 1
                    position += 1
                case 0x20, 0x09, 0x0d, 0x0c, 0x0b:
                    position += 1
                case UInt8(ascii: "#"):
                    while let b = peek, b != 0x0a { position += 1 }
                case UInt8(ascii: "/") where position + 1 < bytes.count && bytes[position + 1] == UInt8(ascii: "/"):
                    while let b = peek, b != 0x0a { position += 1 }
                case UInt8(ascii: "/") where position + 1 < bytes.count && bytes[position + 1] == UInt8(ascii: "*"):
                    let start = line
                    position += 2
                    while true {
                        guard let b = peek else { throw fail("comment '/*' is never closed", line: start) }
                        if b == UInt8(ascii: "*") && position + 1 < bytes.count
                            && bytes[position + 1] == UInt8(ascii: "/")
                        {
                            position += 2
                            break
                        }
                        if b == 0x0a { line += 1 }
                        position += 1
                    }
                default:
                    return
                }
            }
        }

        static func isNameStart(_ b: UInt8) -> Bool {
            (0x41...0x5a).contains(b) || (0x61...0x7a).contains(b) || b == UInt8(ascii: "*")
        }

        static func isNameByte(_ b: UInt8) -> Bool {
            isNameStart(b) || (0x30...0x39).contains(b) || b == UInt8(ascii: "-") || b == UInt8(ascii: "_")
        }

        /// Settings up to `closing` (`}`), or to the end of the file for the top level.
        mutating func settingList(closing: UInt8?) throws -> [LibConfigSetting] {
            var settings: [LibConfigSetting] = []
            var lines: [String: Int] = [:]
            while true {
                try skip()
                guard let byte = peek else {
                    if closing != nil { throw fail("the group is not closed: '}' expected before the end of the file") }
                    return settings
                }
                if byte == closing {
                    position += 1
                    return settings
                }
                if byte == UInt8(ascii: "@") { throw fail("@include and other directives are not allowed") }
                guard Self.isNameStart(byte) else {
                    throw fail("a setting name was expected, found \(describe(byte))")
                }
                let nameLine = line
                let start = position
                while let b = peek, Self.isNameByte(b) { position += 1 }
                let name = String(decoding: bytes[start..<position], as: UTF8.self)
                try skip()
                guard let separator = peek, separator == UInt8(ascii: "=") || separator == UInt8(ascii: ":") else {
                    throw fail("'=' or ':' expected after setting name '\(name)', found \(describe(peek))")
                }
                position += 1
                let value = try self.value()
                if let first = lines[name] {
                    throw fail(
                        "setting '\(name)' appears twice in the same group (first on line \(first))", line: nameLine)
                }
                lines[name] = nameLine
                settings.append(LibConfigSetting(name: name, value: value))
                try skip()
                if let b = peek, b == UInt8(ascii: ";") || b == UInt8(ascii: ",") { position += 1 }
            }
        }

        mutating func value() throws -> LibConfigValue {
            try skip()
            let startLine = line
            guard let byte = peek else { throw fail("a value was expected, found the end of the file") }
            switch byte {
            case UInt8(ascii: "{"):
                position += 1
                depth += 1
                defer { depth -= 1 }
                guard depth <= Self.maxDepth else { throw fail("nesting deeper than \(Self.maxDepth) levels") }
                return LibConfigValue(.group(try settingList(closing: UInt8(ascii: "}"))), line: startLine)
            case UInt8(ascii: "("), UInt8(ascii: "["):
                let isList = byte == UInt8(ascii: "(")
                let closing = isList ? UInt8(ascii: ")") : UInt8(ascii: "]")
                position += 1
                depth += 1
                defer { depth -= 1 }
                guard depth <= Self.maxDepth else { throw fail("nesting deeper than \(Self.maxDepth) levels") }
                var values: [LibConfigValue] = []
                while true {
                    try skip()
                    guard let b = peek else {
                        throw fail(
                            "the \(isList ? "list" : "array") opened on line \(startLine) is not closed", line: line)
                    }
                    if b == closing {
                        position += 1
                        break
                    }
                    let element = try value()
                    if !isList {
                        switch element.kind {
                        case .group, .list, .array:
                            throw fail(
                                "an array holds only scalars, found \(element.typeDescription)", line: element.line)
                        default: break
                        }
                        if let first = values.first, !Self.sameScalarKind(first, element) {
                            throw fail(
                                "an array's elements must all be of one type: \(element.typeDescription) after \(first.typeDescription)",
                                line: element.line)
                        }
                    }
                    values.append(element)
                    try skip()
                    if peek == UInt8(ascii: ",") {
                        position += 1
                    } else if peek != closing {
                        throw fail("',' or '\(Character(Unicode.Scalar(closing)))' expected, found \(describe(peek))")
                    }
                }
                return LibConfigValue(isList ? .list(values) : .array(values), line: startLine)
            case UInt8(ascii: "\""):
                var text: [UInt8] = []
                while peek == UInt8(ascii: "\"") {
                    try string(into: &text)
                    try skip()
                }
                guard let string = String(validating: text, as: UTF8.self) else {
                    throw fail("the string is not valid UTF-8", line: startLine)
                }
                return LibConfigValue(.string(string), line: startLine)
            default:
                return try scalar()
            }
        }

        static func sameScalarKind(_ a: LibConfigValue, _ b: LibConfigValue) -> Bool {
            switch (a.kind, b.kind) {
            case (.string, .string), (.integer, .integer), (.boolean, .boolean): true
            case (.float, .float), (.float, .integer), (.integer, .float): true
            default: false
            }
        }

        /// One quoted string, appended to `text`.
        mutating func string(into text: inout [UInt8]) throws {
            let startLine = line
            position += 1
            while true {
                guard let byte = peek else { throw fail("the string is not closed", line: startLine) }
                position += 1
                switch byte {
                case UInt8(ascii: "\""):
                    return
                case 0x0a:
                    throw fail("a string may not span lines (close it with '\"')", line: startLine)
                case UInt8(ascii: "\\"):
                    guard let escaped = peek else { throw fail("the string is not closed", line: startLine) }
                    position += 1
                    switch escaped {
                    case UInt8(ascii: "\\"): text.append(UInt8(ascii: "\\"))
                    case UInt8(ascii: "\""): text.append(UInt8(ascii: "\""))
                    case UInt8(ascii: "n"): text.append(0x0a)
                    case UInt8(ascii: "r"): text.append(0x0d)
                    case UInt8(ascii: "t"): text.append(0x09)
                    case UInt8(ascii: "f"): text.append(0x0c)
                    case UInt8(ascii: "x"):
                        guard position + 2 <= bytes.count,
                            let value = UInt8(
                                String(decoding: bytes[position..<position + 2], as: UTF8.self), radix: 16)
                        else { throw fail("'\\x' must be followed by two hex digits") }
                        text.append(value)
                        position += 2
                    default:
                        throw fail("unknown escape sequence '\\\(Character(Unicode.Scalar(escaped)))' in a string")
                    }
                default:
                    text.append(byte)
                }
            }
        }

        /// A boolean, an integer or a float.
        mutating func scalar() throws -> LibConfigValue {
            let startLine = line
            let start = position
            while let b = peek,
                Self.isNameByte(b) || b == UInt8(ascii: ".") || b == UInt8(ascii: "+") || b == UInt8(ascii: "-")
            {
                position += 1
            }
            let word = String(decoding: bytes[start..<position], as: UTF8.self)
            guard !word.isEmpty else { throw fail("a value was expected, found \(describe(peek))") }
            switch word.lowercased() {
            case "true": return LibConfigValue(.boolean(true), line: startLine)
            case "false": return LibConfigValue(.boolean(false), line: startLine)
            default: break
            }
            var digits = Substring(word)
            if digits.hasSuffix("LL") || digits.hasSuffix("ll") {
                digits = digits.dropLast(2)
            } else if digits.hasSuffix("L") || digits.hasSuffix("l") {
                digits = digits.dropLast()
            }
            var negative = false
            var body = digits
            if body.hasPrefix("-") || body.hasPrefix("+") {
                negative = body.hasPrefix("-")
                body = body.dropFirst()
            }
            if body.hasPrefix("0x") || body.hasPrefix("0X") {
                if let number = UInt64(body.dropFirst(2), radix: 16), number <= UInt64(Int64.max) {
                    return LibConfigValue(.integer(negative ? -Int64(number) : Int64(number)), line: startLine)
                }
            } else if !body.isEmpty && body.allSatisfy(\.isASCII) && body.allSatisfy(\.isNumber) {
                if let number = Int64(digits) { return LibConfigValue(.integer(number), line: startLine) }
                throw fail("integer \(word) is out of range")
            } else if word.first.map({ $0.isNumber || $0 == "-" || $0 == "+" || $0 == "." }) == true,
                let number = Double(word), number.isFinite
            {
                return LibConfigValue(.float(number), line: startLine)
            }
            throw fail("'\(word)' is not a value (strings need double quotes)", line: startLine)
        }
    }
}
