/// Reads the keys of one table, remembering which were used so that the rest can be reported as
/// unknown.
struct TableReader {
    let table: TOMLTable
    /// The table's line, for "missing required key" (nil for the root table).
    let line: Int?
    /// Prefix for messages about the table itself: "slot 'rootfs': ", "[bootloader]: ", "".
    let owner: String
    /// Prefix of key paths in messages: "bootloader." for `key 'bootloader.backend'`.
    let keyPrefix: String
    /// Overrides the key phrase: "slot 'rootfs' key" instead of "key 'slots.rootfs.…'".
    let keyPhrase: String?
    let sourcePath: String?
    var used: Set<String> = []

    init(
        _ table: TOMLTable, line: Int?, owner: String = "", keyPrefix: String = "", keyPhrase: String? = nil,
        sourcePath: String?
    ) {
        self.table = table
        self.line = line
        self.owner = owner
        self.keyPrefix = keyPrefix
        self.keyPhrase = keyPhrase
        self.sourcePath = sourcePath
    }

    /// "key 'bootloader.grubenv'" or "slot 'rootfs' key 'a'".
    func describe(_ key: String) -> String {
        if let keyPhrase { return "\(keyPhrase) '\(key)'" }
        return "key '\(keyPrefix)\(key)'"
    }

    func error(_ line: Int?, _ message: String) -> ConfigError {
        ConfigError(sourcePath: sourcePath, line: line, message: message)
    }

    /// An error about the value of `key`: "line 12: slot 'rootfs' key 'type': <message>".
    func error(_ key: String, _ value: TOMLValue, _ message: String) -> ConfigError {
        error(value.line, "\(describe(key)): \(message)")
    }

    func has(_ key: String) -> Bool { table[key] != nil }

    mutating func value(_ key: String) -> TOMLValue? {
        used.insert(key)
        return table[key]
    }

    func missing(_ key: String) -> ConfigError {
        error(line, "\(owner)missing required key '\(keyPrefix)\(key)'")
    }

    func wrongType(_ key: String, _ value: TOMLValue, expected: String) -> ConfigError {
        error(key, value, "expected \(expected), got \(value.typeDescription) (\(value.shortDescription))")
    }

    mutating func string(_ key: String) throws -> (String, TOMLValue)? {
        guard let value = value(key) else { return nil }
        guard let string = value.stringValue else { throw wrongType(key, value, expected: "a string") }
        return (string, value)
    }

    mutating func requiredString(_ key: String) throws -> (String, TOMLValue) {
        guard let result = try string(key) else { throw missing(key) }
        return result
    }

    /// A non-empty string.
    mutating func nonEmptyString(_ key: String, required: Bool) throws -> String? {
        guard let (string, value) = required ? try requiredString(key) : try self.string(key) else { return nil }
        guard !string.isEmpty else { throw error(key, value, "must not be empty") }
        return string
    }

    /// An absolute path.
    mutating func path(_ key: String, required: Bool) throws -> String? {
        guard let (string, value) = required ? try requiredString(key) : try self.string(key) else { return nil }
        try checkPath(string, key: key, value: value)
        return string
    }

    func checkPath(_ string: String, key: String, value: TOMLValue) throws {
        guard string.hasPrefix("/") else {
            throw error(key, value, "expected an absolute path, got \(TOMLValue.quoted(string))")
        }
    }

    mutating func bool(_ key: String) throws -> Bool? {
        guard let value = value(key) else { return nil }
        guard let bool = value.boolValue else { throw wrongType(key, value, expected: "true or false") }
        return bool
    }

    mutating func integer(_ key: String, in range: ClosedRange<Int>) throws -> Int? {
        guard let value = value(key) else { return nil }
        guard let integer = value.integerValue else { throw wrongType(key, value, expected: "an integer") }
        guard let int = Int(exactly: integer), range.contains(int) else {
            throw error(
                key, value, "expected an integer from \(range.lowerBound) to \(range.upperBound), got \(integer)")
        }
        return int
    }

    mutating func duration(_ key: String, allowZero: Bool) throws -> Duration? {
        guard let (string, value) = try self.string(key) else { return nil }
        guard let duration = Duration(configText: string) else {
            throw error(
                key, value,
                "expected a duration such as \"500ms\", \"10s\", \"2m\" or \"1h\", got \(TOMLValue.quoted(string))")
        }
        guard allowZero || duration > .zero else { throw error(key, value, "must be longer than zero") }
        return duration
    }

    /// A non-empty array of non-empty strings.
    mutating func stringArray(_ key: String) throws -> ([String], TOMLValue)? {
        guard let value = value(key) else { return nil }
        guard let array = value.arrayValue else { throw wrongType(key, value, expected: "an array of strings") }
        var strings: [String] = []
        for (position, item) in array.enumerated() {
            guard let string = item.stringValue else {
                throw error(
                    item.line,
                    "\(describe(key)): item \(position + 1): expected a string, got \(item.typeDescription) (\(item.shortDescription))"
                )
            }
            strings.append(string)
        }
        guard !strings.isEmpty else { throw error(key, value, "must not be empty") }
        return (strings, value)
    }

    mutating func subtable(_ key: String) throws -> (TOMLTable, TOMLValue)? {
        guard let value = value(key) else { return nil }
        guard let table = value.tableValue else { throw wrongType(key, value, expected: "a table") }
        return (table, value)
    }

    /// `key` must not be present because `reason`.
    mutating func forbid(_ key: String, _ reason: String) throws {
        if let value = value(key) { throw error(key, value, reason) }
    }

    /// Every key not read is an error (the first one in file order).
    func rejectUnknown(known: [String]) throws {
        for entry in table.entries where !used.contains(entry.key) {
            var message = "\(owner)unknown key '\(keyPrefix)\(entry.key)'"
            if let suggestion = closestKey(to: entry.key, among: known) {
                message += " (did you mean '\(keyPrefix)\(suggestion)'?)"
            } else if !known.isEmpty {
                message += "; known keys: \(known.joined(separator: ", "))"
            }
            throw error(entry.line, message)
        }
    }
}

/// The known key closest to `key`, if it is within a small edit distance.
func closestKey(to key: String, among known: [String]) -> String? {
    let scored = known.map { ($0, editDistance(key, $0)) }.filter { $0.1 <= max(1, min(3, $0.0.count / 3)) }
    return scored.min { $0.1 < $1.1 }?.0
}

func editDistance(_ lhs: String, _ rhs: String) -> Int {
    let a = Array(lhs.lowercased())
    let b = Array(rhs.lowercased())
    if a.isEmpty { return b.count }
    if b.isEmpty { return a.count }
    var previous = Array(0...b.count)
    for i in 1...a.count {
        var current = [i] + Array(repeating: 0, count: b.count)
        for j in 1...b.count {
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
        }
        previous = current
    }
    return previous[b.count]
}
