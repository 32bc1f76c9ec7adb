/// The four string forms and their escapes.
extension TOMLScanner {
    // MARK: Strings

    func controlCharacterError(_ byte: UInt8) -> ConfigError {
        let hex = String(byte, radix: 16, uppercase: true)
        return error(
            "control character U+\(String(repeating: "0", count: 4 - hex.count))\(hex) in a string must be escaped")
    }

    func isControl(_ byte: UInt8) -> Bool {
        (byte < 0x20 && byte != UInt8(ascii: "\t")) || byte == 0x7f
    }

    mutating func parseBasicString() throws -> String {
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

    mutating func parseEscape(into out: inout [UInt8]) throws {
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

    func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    /// Both multi-line forms share everything but escapes: `"""` strings take escapes and the
    /// line-ending backslash, `'''` strings are verbatim. Up to two quotes of the delimiter may
    /// end the content right before the closing three (TOML 1.0).
    mutating func parseMultilineString(quote: UInt8) throws -> String {
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
            if byte == quote {
                var run = 0
                while peek() == quote {
                    run += 1
                    advance()
                }
                if run >= 3 {
                    if run > 5 { throw error("too many quotes at the end of a multi-line string") }
                    out.append(contentsOf: Array(repeating: quote, count: run - 3))
                    return String(decoding: out, as: UTF8.self)
                }
                out.append(contentsOf: Array(repeating: quote, count: run))
                continue
            }
            if byte == UInt8(ascii: "\\") && quote == UInt8(ascii: "\"") {
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
                continue
            }
            if isControl(byte) { throw controlCharacterError(byte) }
            out.append(byte)
            advance()
        }
    }

    mutating func parseLiteralString() throws -> String {
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
}
