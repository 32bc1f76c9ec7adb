/// The document level: key/value lines, `[table]` and `[[array]]` headers, and the TOML 1.0
/// rules on defining a table or key twice.
extension TOMLScanner {
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
            try parseKeyValue(into: current, prefix: currentPath)
            try expectLineEnd(after: "value")
        }
        return root
    }

    // MARK: Keys

    /// `key = value`, in a table body or an inline table; `prefix` is the table's own path.
    mutating func parseKeyValue(into table: TableNode, prefix: [String]) throws {
        let parts = try parseKey()
        skipSpaces()
        guard peekIs("=") else {
            throw error("expected '=' after key '\(displayPath(parts.map(\.name)))', found \(found())")
        }
        advance()
        skipSpaces()
        let value = try parseValue(path: prefix + parts.map(\.name))
        try insert(value, at: parts, into: table, prefix: prefix)
    }

    mutating func parseKey() throws -> [KeyPart] {
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

    mutating func parseSimpleKey() throws -> KeyPart {
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

    func valueConflict(_ path: String, _ value: TOMLValue, line: Int, column: Int) -> ConfigError {
        if case .table = value {
            return error(
                "cannot extend inline table '\(path)' (defined on line \(value.line))", line: line, column: column)
        }
        return error("key '\(path)' is already defined as a value on line \(value.line)", line: line, column: column)
    }

    /// Walks the prefix of a header's key (`a.b` of `[a.b.c]`), creating implicit tables.
    func walkHeaderPrefix(_ root: TableNode, _ parts: [KeyPart], line: Int, column: Int) throws -> TableNode {
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

    func defineTable(_ root: TableNode, _ parts: [KeyPart], line: Int, column: Int) throws -> TableNode {
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

    func appendTableArray(_ root: TableNode, _ parts: [KeyPart], line: Int, column: Int) throws -> TableNode {
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
    func insert(_ value: TOMLValue, at parts: [KeyPart], into table: TableNode, prefix: [String]) throws {
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
}
