/// A JSON reader stricter than JSONDecoder, for documents that must mean one thing to every
/// reader: a signed manifest is read by the device, by a reviewer's `jq`, by Python. RFC 8259
/// leaves duplicate names undefined (JSONDecoder keeps the first, jq and Python the last), so
/// they are refused at every level, and so is what parsers disagree on at the edges: a byte
/// order mark, invalid UTF-8, nesting deeper than `maxDepth` (a recursive parser's stack).
/// It only checks and shapes; typed decoding stays with JSONDecoder on the same bytes.
public enum StrictJSON {
    public indirect enum Value: Sendable, Equatable {
        /// Members in document order, names unique.
        case object([(name: String, value: Value)])
        case array([Value])
        case string(String)
        /// The number as written (RFC 8259 grammar checked).
        case number(String)
        case bool(Bool)
        case null

        public static func == (lhs: Value, rhs: Value) -> Bool {
            switch (lhs, rhs) {
            case (.object(let a), .object(let b)): a.map(\.name) == b.map(\.name) && a.map(\.value) == b.map(\.value)
            case (.array(let a), .array(let b)): a == b
            case (.string(let a), .string(let b)), (.number(let a), .number(let b)): a == b
            case (.bool(let a), .bool(let b)): a == b
            case (.null, .null): true
            default: false
            }
        }

        /// The member names of an object, nil for anything else.
        public var names: [String]? {
            if case .object(let members) = self { return members.map(\.name) }
            return nil
        }

        public subscript(name: String) -> Value? {
            if case .object(let members) = self { return members.first { $0.name == name }?.value }
            return nil
        }
    }

    public struct Problem: Error, Equatable, CustomStringConvertible {
        public var message: String
        /// Byte offset in the document.
        public var offset: Int
        public var description: String { "\(message) at byte \(offset)" }
    }

    public static let defaultMaxDepth = 64

    public static func parse(_ bytes: [UInt8], maxDepth: Int = defaultMaxDepth) throws(Problem) -> Value {
        var parser = Parser(bytes: bytes, maxDepth: maxDepth)
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { throw Problem(message: "a byte order mark", offset: 0) }
        parser.skipWhitespace()
        let value = try parser.value(depth: 1)
        parser.skipWhitespace()
        if parser.at < bytes.count { throw parser.problem("data after the JSON value") }
        return value
    }

    private struct Parser {
        let bytes: [UInt8]
        let maxDepth: Int
        var at = 0

        func problem(_ message: String) -> Problem { Problem(message: message, offset: at) }

        mutating func skipWhitespace() {
            while at < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[at]) { at += 1 }
        }

        mutating func expect(_ literal: String) throws(Problem) {
            let expected = Array(literal.utf8)
            guard bytes[at...].starts(with: expected) else { throw problem("expected '\(literal)'") }
            at += expected.count
        }

        mutating func value(depth: Int) throws(Problem) -> Value {
            guard at < bytes.count else { throw problem("unexpected end") }
            switch bytes[at] {
            case UInt8(ascii: "{"): return try object(depth: depth)
            case UInt8(ascii: "["): return try array(depth: depth)
            case UInt8(ascii: "\""): return .string(try string())
            case UInt8(ascii: "t"):
                try expect("true")
                return .bool(true)
            case UInt8(ascii: "f"):
                try expect("false")
                return .bool(false)
            case UInt8(ascii: "n"):
                try expect("null")
                return .null
            default: return .number(try number())
            }
        }

        mutating func object(depth: Int) throws(Problem) -> Value {
            guard depth <= maxDepth else { throw problem("nested deeper than \(maxDepth) levels") }
            at += 1
            var members: [(name: String, value: Value)] = []
            var seen = Set<String>()
            skipWhitespace()
            if at < bytes.count, bytes[at] == UInt8(ascii: "}") {
                at += 1
                return .object(members)
            }
            while true {
                skipWhitespace()
                let nameOffset = at
                guard at < bytes.count, bytes[at] == UInt8(ascii: "\"") else { throw problem("expected a member name") }
                let name = try string()
                guard seen.insert(name).inserted else {
                    throw Problem(message: "duplicate name '\(name)'", offset: nameOffset)
                }
                skipWhitespace()
                try expect(":")
                skipWhitespace()
                members.append((name, try value(depth: depth + 1)))
                skipWhitespace()
                guard at < bytes.count else { throw problem("unexpected end in an object") }
                if bytes[at] == UInt8(ascii: ",") {
                    at += 1
                    continue
                }
                try expect("}")
                return .object(members)
            }
        }

        mutating func array(depth: Int) throws(Problem) -> Value {
            guard depth <= maxDepth else { throw problem("nested deeper than \(maxDepth) levels") }
            at += 1
            var elements: [Value] = []
            skipWhitespace()
            if at < bytes.count, bytes[at] == UInt8(ascii: "]") {
                at += 1
                return .array(elements)
            }
            while true {
                skipWhitespace()
                elements.append(try value(depth: depth + 1))
                skipWhitespace()
                guard at < bytes.count else { throw problem("unexpected end in an array") }
                if bytes[at] == UInt8(ascii: ",") {
                    at += 1
                    continue
                }
                try expect("]")
                return .array(elements)
            }
        }

        mutating func hex4() throws(Problem) -> UInt32 {
            guard at + 4 <= bytes.count,
                let value = UInt32(String(decoding: bytes[at..<at + 4], as: UTF8.self), radix: 16)
            else { throw problem("bad \\u escape") }
            at += 4
            return value
        }

        /// A string, escapes decoded, so that "a" and "\u0061" are the same name.
        mutating func string() throws(Problem) -> String {
            at += 1
            var out: [UInt8] = []
            while true {
                guard at < bytes.count else { throw problem("unterminated string") }
                let byte = bytes[at]
                if byte == UInt8(ascii: "\"") {
                    at += 1
                    break
                }
                if byte < 0x20 { throw problem("a control character in a string") }
                if byte != UInt8(ascii: "\\") {
                    out.append(byte)
                    at += 1
                    continue
                }
                at += 1
                guard at < bytes.count else { throw problem("unterminated escape") }
                let escape = bytes[at]
                at += 1
                switch escape {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(escape)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"):
                    var scalar = try hex4()
                    if (0xD800...0xDBFF).contains(scalar) {
                        guard bytes[at...].starts(with: [0x5C, 0x75]) else { throw problem("an unpaired surrogate") }
                        at += 2
                        let low = try hex4()
                        guard (0xDC00...0xDFFF).contains(low) else { throw problem("an unpaired surrogate") }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    } else if (0xDC00...0xDFFF).contains(scalar) {
                        throw problem("an unpaired surrogate")
                    }
                    out.append(contentsOf: Array(String(Character(Unicode.Scalar(scalar)!)).utf8))
                default: throw problem("bad escape")
                }
            }
            guard let text = String(validating: out, as: UTF8.self) else { throw problem("invalid UTF-8 in a string") }
            return text
        }

        mutating func number() throws(Problem) -> String {
            let start = at
            func digits() -> Int {
                let from = at
                while at < bytes.count, (0x30...0x39).contains(bytes[at]) { at += 1 }
                return at - from
            }
            if at < bytes.count, bytes[at] == UInt8(ascii: "-") { at += 1 }
            guard at < bytes.count, (0x30...0x39).contains(bytes[at]) else { throw problem("expected a value") }
            if bytes[at] == 0x30 { at += 1 } else { _ = digits() }
            if at < bytes.count, bytes[at] == UInt8(ascii: ".") {
                at += 1
                guard digits() > 0 else { throw problem("a digit must follow '.'") }
            }
            if at < bytes.count, bytes[at] == UInt8(ascii: "e") || bytes[at] == UInt8(ascii: "E") {
                at += 1
                if at < bytes.count, bytes[at] == UInt8(ascii: "+") || bytes[at] == UInt8(ascii: "-") { at += 1 }
                guard digits() > 0 else { throw problem("a digit must follow the exponent") }
            }
            return String(decoding: bytes[start..<at], as: UTF8.self)
        }
    }
}
