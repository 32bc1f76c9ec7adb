struct ConfigDecoder {
    let sourcePath: String?

    enum Keys {
        static let root = [
            "compatible", "data-directory", "keyring", "bootloader", "security", "slots", "health", "reporting",
        ]
        static let reporting = ["hooks-directory", "hook-failure", "metrics-textfile", "reports-kept"]
        static let bootloader = [
            "backend", "grubenv", "uboot-env", "attempts", "script", "booted-slot", "cmdline-path", "reboot-command",
            "boot-id-path",
        ]
        static let security = ["anti-rollback", "allow-same-version", "allow-older-version"]
        static let slot = ["type", "a", "b", "current"]
        static let health = ["deadline-boots", "deadline", "check"]
        static let check = ["name", "kind", "target", "command", "timeout", "required", "retries", "retry-delay"]
    }

    func decode(_ root: TOMLTable) throws -> SystemConfig {
        var reader = TableReader(root, line: nil, sourcePath: sourcePath)
        let compatible = try reader.nonEmptyString("compatible", required: true)!
        let dataDirectory = try reader.path("data-directory", required: false) ?? SystemConfig.defaultDataDirectory
        let keyring = try reader.path("keyring", required: true)!

        guard let (bootloaderTable, bootloaderValue) = try reader.subtable("bootloader") else {
            throw ConfigError(sourcePath: sourcePath, message: "missing required table [bootloader]")
        }
        let bootloader = try decodeBootloader(bootloaderTable, line: bootloaderValue.line)

        var security = SecurityPolicy()
        if let (table, value) = try reader.subtable("security") {
            var securityReader = TableReader(table, line: value.line, keyPrefix: "security.", sourcePath: sourcePath)
            security.antiRollback = try securityReader.bool("anti-rollback") ?? true
            security.allowSameVersion = try securityReader.bool("allow-same-version") ?? true
            security.allowOlderVersion = try securityReader.bool("allow-older-version") ?? true
            try securityReader.rejectUnknown(known: Keys.security)
        }

        let slotClasses = try decodeSlots(&reader)

        var health = HealthConfig()
        if let (table, value) = try reader.subtable("health") {
            health = try decodeHealth(table, line: value.line)
        }

        var reporting = ReportingConfig()
        if let (table, value) = try reader.subtable("reporting") {
            var reportingReader = TableReader(table, line: value.line, keyPrefix: "reporting.", sourcePath: sourcePath)
            reporting.hooksDirectory =
                try reportingReader.path("hooks-directory", required: false) ?? ReportingConfig.defaultHooksDirectory
            if let (text, value) = try reportingReader.string("hook-failure") {
                guard let policy = ReportingConfig.HookFailure(rawValue: text) else {
                    throw ConfigError(
                        sourcePath: sourcePath, line: value.line,
                        message: "key 'reporting.hook-failure': expected \"abort\" or \"ignore\", got \"\(text)\"")
                }
                reporting.hookFailure = policy
            }
            reporting.metricsTextfile = try reportingReader.path("metrics-textfile", required: false)
            reporting.reportsKept = try reportingReader.integer("reports-kept", in: 1...10000) ?? 20
            try reportingReader.rejectUnknown(known: Keys.reporting)
        }

        let network = try decodeNetwork(&reader)
        try reader.rejectUnknown(known: Keys.root + ["network"])
        try checkSlotPaths(
            root, slotClasses, bootloader: bootloader, dataDirectory: dataDirectory, keyring: keyring)
        var config = SystemConfig(
            compatible: compatible, dataDirectory: dataDirectory, keyring: keyring, bootloader: bootloader,
            security: security, slotClasses: slotClasses, health: health, reporting: reporting,
            sourcePath: sourcePath)
        config.network = network
        return config
    }

    // MARK: Network

    /// `[network]` (optional): the low-speed limit that bounds a download in time.
    func decodeNetwork(_ root: inout TableReader) throws -> NetworkConfig {
        var network = NetworkConfig()
        guard let (table, value) = try root.subtable("network") else { return network }
        var reader = TableReader(table, line: value.line, keyPrefix: "network.", sourcePath: sourcePath)
        network.lowSpeedLimit = try reader.integer("low-speed-limit", in: 1...(1 << 30)) ?? network.lowSpeedLimit
        if let time = try reader.duration("low-speed-time", allowZero: false) {
            // libcurl counts whole seconds.
            guard time >= .seconds(1), time.components.attoseconds == 0 else {
                throw reader.error(
                    "low-speed-time", table["low-speed-time"]!, "expected whole seconds, at least \"1s\"")
            }
            network.lowSpeedTime = time
        }
        try reader.rejectUnknown(known: ["low-speed-limit", "low-speed-time"])
        return network
    }

    /// Slot paths against each other (canonical: `..` and symlinks resolved) and against the
    /// files twinslot relies on (SlotPathRules).
    func checkSlotPaths(
        _ root: TOMLTable, _ classes: [SlotClassConfig], bootloader: BootloaderConfig, dataDirectory: String,
        keyring: String
    ) throws {
        let slotsTable = root["slots"]?.tableValue
        var slots: [SlotPathRules.Named] = []
        for slot in classes {
            let table = slotsTable?[slot.name]?.tableValue
            for (key, path) in [("a", slot.a), ("b", slot.b), ("current", slot.current)] {
                guard let path else { continue }
                slots.append(
                    .init(
                        owner: "slot '\(slot.name)' key '\(key)'", path: path, line: table?[key]?.line,
                        followLast: key != "current"))
            }
        }
        var reserved: [SlotPathRules.Named] = [
            .init(owner: "data-directory", path: dataDirectory, line: root["data-directory"]?.line),
            .init(owner: "keyring", path: keyring, line: root["keyring"]?.line),
        ]
        switch bootloader.backend {
        case .grub(let grubenv), .sim(let grubenv): reserved.append(.init(owner: "bootloader.grubenv", path: grubenv))
        case .uboot(let environments, _):
            reserved += environments.map { .init(owner: "bootloader.uboot-env", path: $0.path) }
        case .script: break
        }
        if let sourcePath { reserved.append(.init(owner: "the configuration file", path: sourcePath)) }
        let onDevice = reserved.filter { $0.owner == "data-directory" || $0.owner == "bootloader.grubenv" }
        if let (slot, message) = SlotPathRules.firstConflict(slots: slots, reserved: reserved)
            ?? SlotPathRules.firstDeviceConflict(
                slots: slots.filter { !$0.owner.hasSuffix("'current'") }, reserved: onDevice)
        {
            throw ConfigError(sourcePath: sourcePath, line: slot.line, message: "\(slot.owner): \(message)")
        }
    }

}
