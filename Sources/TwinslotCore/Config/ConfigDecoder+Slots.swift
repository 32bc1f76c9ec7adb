/// `[slots.NAME]`: the slot classes, their types and paths.
extension ConfigDecoder {
    func decodeSlots(_ reader: inout TableReader) throws -> [SlotClassConfig] {
        guard let slotsValue = reader.value("slots") else {
            throw ConfigError(
                sourcePath: sourcePath, message: "no slot classes: at least one [slots.NAME] table is required")
        }
        guard let slotsTable = slotsValue.tableValue else {
            throw reader.wrongType("slots", slotsValue, expected: "a table of slot classes ([slots.NAME])")
        }
        guard !slotsTable.isEmpty else {
            throw reader.error(
                slotsValue.line, "no slot classes: at least one [slots.NAME] table is required")
        }
        var classes: [SlotClassConfig] = []
        // Every slot path, with who uses it, to reject a path used twice.
        for entry in slotsTable.entries {
            let name = entry.key
            guard Self.isValidClassName(name) else {
                throw ConfigError(
                    sourcePath: sourcePath, line: entry.line,
                    message:
                        "invalid slot class name \(TOMLValue.quoted(name)): use a lowercase letter then lowercase letters, digits, '_' or '-'"
                )
            }
            guard let table = entry.value.tableValue else {
                throw ConfigError(
                    sourcePath: sourcePath, line: entry.value.line,
                    message: "slot '\(name)': expected a table ([slots.\(name)]), got \(entry.value.typeDescription)")
            }
            var slot = TableReader(
                table, line: entry.value.line, owner: "slot '\(name)': ", keyPhrase: "slot '\(name)' key",
                sourcePath: sourcePath)
            let (typeName, typeValue) = try slot.requiredString("type")
            guard let type = SlotType(rawValue: typeName) else {
                throw slot.error(
                    "type", typeValue, "expected \"raw\", \"directory\" or \"oci\", got \(TOMLValue.quoted(typeName))")
            }
            let a = try slot.path("a", required: true)!
            let b = try slot.path("b", required: true)!
            var current: String? = nil
            if type.isDirectoryTree {
                current = try slot.path("current", required: true)!
            } else {
                try slot.forbid("current", "applies only to slots of type \"directory\" or \"oci\"")
            }
            try slot.rejectUnknown(known: Keys.slot)

            classes.append(SlotClassConfig(name: name, type: type, a: a, b: b, current: current))
        }
        return classes
    }

    static func isValidClassName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, ("a"..."z").contains(first) else { return false }
        return name.unicodeScalars.allSatisfy {
            ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "_" || $0 == "-"
        }
    }

}
