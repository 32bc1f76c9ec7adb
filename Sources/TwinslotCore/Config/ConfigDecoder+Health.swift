/// `[health]` and its `[[health.check]]` entries.
extension ConfigDecoder {
    func decodeHealth(_ table: TOMLTable, line: Int) throws -> HealthConfig {
        var reader = TableReader(table, line: line, keyPrefix: "health.", sourcePath: sourcePath)
        var health = HealthConfig()
        health.deadlineBoots = try reader.integer("deadline-boots", in: 1...1000) ?? HealthConfig.defaultDeadlineBoots
        health.deadline = try reader.duration("deadline", allowZero: false)
        if let value = reader.value("check") {
            guard let items = value.arrayValue else {
                throw reader.wrongType("check", value, expected: "an array of tables ([[health.check]])")
            }
            var names: [String: Int] = [:]
            for (position, item) in items.enumerated() {
                guard let checkTable = item.tableValue else {
                    throw reader.error(
                        item.line,
                        "key 'health.check' item \(position + 1): expected a table ([[health.check]]), got \(item.typeDescription)"
                    )
                }
                let check = try decodeCheck(checkTable, line: item.line, position: position + 1)
                if let previous = names[check.name] {
                    throw ConfigError(
                        sourcePath: sourcePath, line: checkTable["name"]?.line ?? item.line,
                        message:
                            "health check '\(check.name)' key 'name': duplicate name (first used on line \(previous)); check names must be unique"
                    )
                }
                names[check.name] = checkTable["name"]?.line ?? item.line
                health.checks.append(check)
            }
        }
        try reader.rejectUnknown(known: Keys.health)
        return health
    }

    func decodeCheck(_ table: TOMLTable, line: Int, position: Int) throws -> HealthCheckConfig {
        let label = table["name"]?.stringValue.map { "health check '\($0)'" } ?? "health check #\(position)"
        var reader = TableReader(
            table, line: line, owner: "\(label): ", keyPhrase: "\(label) key", sourcePath: sourcePath)
        let name = try reader.nonEmptyString("name", required: true)!
        let (kindName, kindValue) = try reader.requiredString("kind")
        let kind: HealthCheckKind
        if kindName == "command" {
            try reader.forbid("target", "a \"command\" check takes its program in 'command', not 'target'")
            guard let (command, value) = try reader.stringArray("command") else { throw reader.missing("command") }
            guard !command[0].isEmpty else { throw reader.error("command", value, "the program must not be empty") }
            kind = .command(command)
        } else {
            guard HealthCheckKind.names.contains(kindName) else {
                throw reader.error(
                    "kind", kindValue,
                    "expected one of \(HealthCheckKind.names.map { "\"\($0)\"" }.joined(separator: ", ")), got \(TOMLValue.quoted(kindName))"
                )
            }
            try reader.forbid("command", "applies only to checks of kind \"command\"")
            let (target, targetValue) = try reader.requiredString("target")
            switch kindName {
            case "file", "socket":
                try reader.checkPath(target, key: "target", value: targetValue)
                kind = kindName == "file" ? .file(path: target) : .socket(path: target)
            case "tcp":
                guard let (host, port) = Self.parseHostPort(target) else {
                    throw reader.error(
                        "target", targetValue,
                        "expected \"host:port\" with a port from 1 to 65535, got \(TOMLValue.quoted(target))")
                }
                kind = .tcp(host: host, port: port)
            case "http":
                guard target.hasPrefix("http://") || target.hasPrefix("https://"), target.count > 8 else {
                    throw reader.error(
                        "target", targetValue, "expected an http:// or https:// URL, got \(TOMLValue.quoted(target))")
                }
                kind = .http(url: target)
            default:  // systemd
                guard !target.isEmpty, !target.contains(where: { $0 == " " || $0 == "\t" || $0 == "/" }) else {
                    throw reader.error(
                        "target", targetValue, "expected a systemd unit name, got \(TOMLValue.quoted(target))")
                }
                kind = .systemd(unit: target)
            }
        }
        let timeout = try reader.duration("timeout", allowZero: false) ?? HealthCheckConfig.defaultTimeout
        let required = try reader.bool("required") ?? true
        let retries = try reader.integer("retries", in: 0...1000) ?? 0
        let retryDelay = try reader.duration("retry-delay", allowZero: true) ?? HealthCheckConfig.defaultRetryDelay
        try reader.rejectUnknown(known: Keys.check)
        return HealthCheckConfig(
            name: name, kind: kind, timeout: timeout, required: required, retries: retries, retryDelay: retryDelay)
    }

    /// "host:port" or "[v6-address]:port".
    static func parseHostPort(_ text: String) -> (String, Int)? {
        guard let colon = text.lastIndex(of: ":") else { return nil }
        var host = String(text[..<colon])
        guard let port = Int(text[text.index(after: colon)...]), (1...65535).contains(port) else { return nil }
        if host.hasPrefix("[") && host.hasSuffix("]") && host.count > 2 {
            host = String(host.dropFirst().dropLast())
        } else if host.contains(":") {
            return nil
        }
        guard !host.isEmpty, !host.contains(where: { $0 == " " || $0 == "/" }) else { return nil }
        return (host, port)
    }
}
