/// The checks a document passes before libconfig sees it: the things libconfig 1.5 (Debian's)
/// would do that a signed sw-description must not make a device do, or would read differently
/// from what the text says.
///
/// - `@include` (and any other `@` directive): libconfig 1.5 opens the named file itself, with
///   no hook to refuse it (`config_set_include_func` arrived in 1.7), and an empty include
///   directory means the path as written: a signed sw-description would read the device's files.
///   SWUpdate refuses the directive too.
/// - Nesting deeper than 64 levels (issue 13): libconfig's parser is bison's (a heap stack), but
///   `config_destroy` and the walk that turns the tree into `LibConfigValue`s recurse once per
///   level, so the depth is bounded before the tree exists.
/// - NUL bytes: `config_read_string` stops at the first one, so the rest would be signed but
///   never read.
/// - Integers libconfig stores other than as written: 1.5 wraps a decimal beyond 32 bits
///   without `L` (3000000000 reads as -1294967296), truncates hex beyond 32 bits, turns
///   0x80000000…0xFFFFFFFF into negative ints and saturates or wraps 64-bit ones.
/// - A `/*` comment never closed: libconfig reads it as running to the end of the file, which
///   hides the rest of a document that was probably cut short.
///
/// The scan is lexical (strings, the three comment styles, words): it does not parse, libconfig
/// does, so what it lets through means exactly what libconfig says it means.
enum LibConfigGate {
    static let maxDepth = 64

    static func check(_ bytes: [UInt8]) throws(LibConfigError) {
        var position = 0
        var line = 1
        var depth = 0
        func fail(_ message: String, line: Int) -> LibConfigError { LibConfigError(line: line, message: message) }
        func at(_ offset: Int) -> UInt8? { offset < bytes.count ? bytes[offset] : nil }
        while position < bytes.count {
            let byte = bytes[position]
            switch byte {
            case 0:
                throw fail("a NUL byte (libconfig would stop reading there)", line: line)
            case 0x0a:
                line += 1
                position += 1
            case UInt8(ascii: "\""):
                let start = line
                position += 1
                while let b = at(position), b != UInt8(ascii: "\"") {
                    // A backslash escapes the next byte; only `\"` matters for where the string ends.
                    let width = b == UInt8(ascii: "\\") && at(position + 1) != nil ? 2 : 1
                    for escaped in bytes[position..<position + width] {
                        if escaped == 0 { throw fail("a NUL byte (libconfig would stop reading there)", line: line) }
                        if escaped == 0x0a { line += 1 }
                    }
                    position += width
                }
                guard position < bytes.count else {
                    throw fail("the string opened on line \(start) is never closed", line: start)
                }
                position += 1
            case UInt8(ascii: "#"):
                while let b = at(position), b != 0x0a, b != 0 { position += 1 }
            case UInt8(ascii: "/") where at(position + 1) == UInt8(ascii: "/"):
                while let b = at(position), b != 0x0a, b != 0 { position += 1 }
            case UInt8(ascii: "/") where at(position + 1) == UInt8(ascii: "*"):
                let start = line
                position += 2
                while true {
                    guard let b = at(position) else { throw fail("comment '/*' is never closed", line: start) }
                    if b == UInt8(ascii: "*") && at(position + 1) == UInt8(ascii: "/") {
                        position += 2
                        break
                    }
                    if b == 0 { throw fail("a NUL byte (libconfig would stop reading there)", line: line) }
                    if b == 0x0a { line += 1 }
                    position += 1
                }
            case UInt8(ascii: "@"):
                throw fail(
                    "@include and other directives are not allowed (a signed sw-description reads no other file)",
                    line: line)
            case UInt8(ascii: "{"), UInt8(ascii: "("), UInt8(ascii: "["):
                depth += 1
                guard depth <= maxDepth else { throw fail("nesting deeper than \(maxDepth) levels", line: line) }
                position += 1
            case UInt8(ascii: "}"), UInt8(ascii: ")"), UInt8(ascii: "]"):
                depth = max(0, depth - 1)
                position += 1
            default:
                guard isWordByte(byte) else {
                    position += 1
                    continue
                }
                let start = position
                while let b = at(position), isWordByte(b) { position += 1 }
                if let problem = integerProblem(bytes[start..<position]) { throw fail(problem, line: line) }
            }
        }
    }

    /// The bytes of names, numbers and booleans.
    static func isWordByte(_ b: UInt8) -> Bool {
        (0x30...0x39).contains(b) || (0x41...0x5a).contains(b) || (0x61...0x7a).contains(b)
            || b == UInt8(ascii: "_") || b == UInt8(ascii: "-") || b == UInt8(ascii: "+")
            || b == UInt8(ascii: ".") || b == UInt8(ascii: "*")
    }

    /// Why libconfig 1.5 would not store the integer literal `word` as written, nil if it would
    /// (or if `word` is no integer: a name, a float, a boolean, or a syntax error libconfig reports).
    static func integerProblem(_ word: ArraySlice<UInt8>) -> String? {
        let text = String(decoding: word, as: UTF8.self)
        var body = Substring(text)
        let suffix = body.hasSuffix("LL") ? 2 : body.hasSuffix("L") ? 1 : 0
        body = body.dropLast(suffix)
        let wide = suffix > 0
        if body.hasPrefix("0x") || body.hasPrefix("0X") {
            let digits = body.dropFirst(2)
            guard !digits.isEmpty, digits.allSatisfy(\.isHexDigit) else { return nil }
            let limit = wide ? UInt64(Int64.max) : UInt64(Int32.max)
            if let value = UInt64(digits, radix: 16), value <= limit { return nil }
            return wide
                ? "integer \(text) is out of range (above 0x7FFFFFFFFFFFFFFF)"
                : "integer \(text) is out of range of a 32-bit int (libconfig would not read it as written): "
                    + "write \(text)L for a 64-bit integer"
        }
        let unsigned = body.hasPrefix("-") || body.hasPrefix("+") ? body.dropFirst() : body
        guard !unsigned.isEmpty, unsigned.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        if wide {
            return Int64(body) == nil ? "integer \(text) is out of range of a 64-bit integer" : nil
        }
        if let value = Int64(body), let _ = Int32(exactly: value) { return nil }
        return "integer \(text) is out of range of a 32-bit int (libconfig would not read it as written): "
            + "write \(text)L for a 64-bit integer"
    }
}
