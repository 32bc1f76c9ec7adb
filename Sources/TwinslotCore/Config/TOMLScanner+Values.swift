/// Values: arrays and inline tables (depth-bounded), integers, floats and booleans.
extension TOMLScanner {
    // MARK: Values

    mutating func parseValue(path: [String]) throws -> TOMLValue {
        let valueLine = line
        guard let byte = peek() else { throw error("expected a value, found end of file") }
        switch byte {
        case UInt8(ascii: "\""):
            if peekIs("\"", 1) && peekIs("\"", 2) {
                return .string(try parseMultilineString(quote: UInt8(ascii: "\"")), line: valueLine)
            }
            return .string(try parseBasicString(), line: valueLine)
        case UInt8(ascii: "'"):
            if peekIs("'", 1) && peekIs("'", 2) {
                return .string(try parseMultilineString(quote: UInt8(ascii: "'")), line: valueLine)
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
    mutating func enterNesting() throws {
        guard depth < Self.maxDepth else {
            throw error("arrays and inline tables nested deeper than \(Self.maxDepth) levels")
        }
        depth += 1
    }

    mutating func parseArray(path: [String]) throws -> TOMLValue {
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

    mutating func parseInlineTable(path: [String]) throws -> TOMLValue {
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
            try parseKeyValue(into: table, prefix: path)
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

    // MARK: Numbers and booleans

    mutating func parseScalar() throws -> TOMLValue {
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

    static func isScalarByte(_ byte: UInt8) -> Bool {
        isBareKeyByte(byte) || byte == UInt8(ascii: "+") || byte == UInt8(ascii: ".") || byte == UInt8(ascii: ":")
    }

    static func looksLikeDate(_ token: String) -> Bool {
        let utf8 = Array(token.utf8)
        return utf8.count >= 5 && utf8[0..<4].allSatisfy { (0x30...0x39).contains($0) } && utf8[4] == UInt8(ascii: "-")
    }

    /// Digits of `radix` with single underscores between digits only.
    static func validDigits(_ s: String, radix: Int) -> Bool {
        guard !s.isEmpty, s.first != "_", s.last != "_", !s.contains("__") else { return false }
        return s.allSatisfy { $0 == "_" || ($0.hexDigitValue.map { $0 < radix } ?? false) }
    }

    /// `int [. frac] [e [+-] exp]` with at least a fraction or an exponent, no sign on `body`.
    static func validFloat(_ body: Substring) -> Bool {
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
    var isASCIIDigit: Bool { isASCII && isNumber }
}

extension String {
    func replacingUnderscores() -> String { filter { $0 != "_" } }
}
