#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

// MARK: - The model

/// The device's system configuration, `system.toml` (docs/configuration.md).
public struct SystemConfig: Sendable, Equatable {
    /// Where the configuration lives unless `--config` or `$TWINSLOT_CONFIG` says otherwise.
    public static let defaultPath = "/etc/twinslot/system.toml"
    /// The environment variable that points to another configuration file.
    public static let environmentVariable = "TWINSLOT_CONFIG"
    public static let defaultDataDirectory = "/var/lib/twinslot"

    /// Bundles must carry exactly this compatible string.
    public var compatible: String
    /// Journal, reports and lock live here.
    public var dataDirectory: String
    /// PEM bundle of the trusted CA certificates.
    public var keyring: String
    public var bootloader: BootloaderConfig
    public var security: SecurityPolicy
    /// The slot classes in file order.
    public var slotClasses: [SlotClassConfig]
    public var health: HealthConfig
    public var reporting: ReportingConfig
    /// Bounds on bundle downloads (`[network]`, NetworkConfig.swift).
    public var network = NetworkConfig()
    /// The file this configuration was read from, for messages; nil when built in code.
    public var sourcePath: String?

    public init(
        compatible: String, dataDirectory: String = SystemConfig.defaultDataDirectory, keyring: String,
        bootloader: BootloaderConfig, security: SecurityPolicy = SecurityPolicy(), slotClasses: [SlotClassConfig],
        health: HealthConfig = HealthConfig(), reporting: ReportingConfig = ReportingConfig(),
        sourcePath: String? = nil
    ) {
        self.compatible = compatible
        self.dataDirectory = dataDirectory
        self.keyring = keyring
        self.bootloader = bootloader
        self.security = security
        self.slotClasses = slotClasses
        self.health = health
        self.reporting = reporting
        self.sourcePath = sourcePath
    }

    /// The slot class with this name, if configured.
    public func slotClass(named name: String) -> SlotClassConfig? {
        slotClasses.first { $0.name == name }
    }

    /// The configuration file to use: `explicit` (`--config`) if given, else `$TWINSLOT_CONFIG`
    /// if set and not empty, else `defaultPath`.
    public static func resolvePath(
        explicit: String?, environment: [String: String] = ProcessInfo.processInfo.environment
    ) -> String {
        if let explicit, !explicit.isEmpty { return explicit }
        if let fromEnvironment = environment[environmentVariable], !fromEnvironment.isEmpty { return fromEnvironment }
        return defaultPath
    }
}

/// The bootloader backend and how the device learns which slot group booted and reboots.
public struct BootloaderConfig: Sendable, Equatable {
    public enum Backend: Sendable, Equatable {
        /// GRUB, through its 1024-byte environment block.
        case grub(grubenv: String)
        /// U-Boot, through its environment (one copy, or two for a redundant environment);
        /// `attempts` is the BOOT_x_LEFT count set on commit.
        case uboot(environments: [UBootEnvironmentLocation], attempts: Int)
        /// An external program implementing the backend commands.
        case script(command: String)
        /// The simulated bootloader (a GRUB-format environment file), for tests and demos.
        case sim(grubenv: String)

        /// "grub", "uboot", "script" or "sim", as written in the file.
        public var name: String {
            switch self {
            case .grub: "grub"
            case .uboot: "uboot"
            case .script: "script"
            case .sim: "sim"
            }
        }
    }

    public static let defaultGrubenv = "/boot/grub/grubenv"
    public static let defaultAttempts = 3
    public static let defaultCmdlinePath = "/proc/cmdline"
    public static let defaultRebootCommand = ["systemctl", "reboot"]
    public static let defaultBootIDPath = "/proc/sys/kernel/random/boot_id"

    public var backend: Backend
    public var bootedSlot: BootedSlotSource
    /// The command (program and arguments) that reboots the device.
    public var rebootCommand: [String]
    /// The file holding an id unique to this boot (the kernel's): what ties an install and a
    /// boot decision to the boot they happened in.
    public var bootIDPath: String

    public init(
        backend: Backend, bootedSlot: BootedSlotSource = .cmdline(path: BootloaderConfig.defaultCmdlinePath),
        rebootCommand: [String] = BootloaderConfig.defaultRebootCommand,
        bootIDPath: String = BootloaderConfig.defaultBootIDPath
    ) {
        self.backend = backend
        self.bootedSlot = bootedSlot
        self.rebootCommand = rebootCommand
        self.bootIDPath = bootIDPath
    }
}

/// One copy of the U-Boot environment, as a line of fw_env.config: `path offset size`.
public struct UBootEnvironmentLocation: Sendable, Equatable {
    /// The device or file holding the environment.
    public var path: String
    /// Byte offset of the environment in `path`.
    public var offset: UInt64
    /// Size of the environment in bytes (CRC and flag byte included).
    public var size: UInt64

    public init(path: String, offset: UInt64, size: UInt64) {
        self.path = path
        self.offset = offset
        self.size = size
    }

    /// The fw_env.config-style line, offsets in hex: "/dev/mmcblk0 0x3f8000 0x4000".
    public var configLine: String {
        "\(path) 0x\(String(offset, radix: 16)) 0x\(String(size, radix: 16))"
    }
}

/// How `twinslot boot` learns which slot group the bootloader started.
public enum BootedSlotSource: Sendable, Equatable {
    /// `twinslot.slot=A` or `twinslot.slot=B` on the kernel command line read from `path`
    /// (normally /proc/cmdline).
    case cmdline(path: String)
    /// A file holding "A" or "B".
    case file(path: String)
}

/// Version policy for installs.
public struct SecurityPolicy: Sendable, Equatable {
    /// Refuse bundles whose security version is below the installed one.
    public var antiRollback: Bool
    /// Allow installing a bundle with the same security version as the committed one.
    public var allowSameVersion: Bool
    /// Allow a bundle whose version (VersionOrder) is older than the running group's. The
    /// security version is the floor a vendor raises for fixes; this rule is for operators who
    /// want no step back at all, as SWUpdate's `-N` and RAUC's `min-bundle-version` offer.
    public var allowOlderVersion: Bool

    public init(antiRollback: Bool = true, allowSameVersion: Bool = true, allowOlderVersion: Bool = true) {
        self.antiRollback = antiRollback
        self.allowSameVersion = allowSameVersion
        self.allowOlderVersion = allowOlderVersion
    }
}

/// Where twinslot tells the world what it did: reports, hooks, metrics.
public struct ReportingConfig: Sendable, Equatable {
    public static let defaultHooksDirectory = "/etc/twinslot/hooks.d"

    public enum HookFailure: String, Sendable, Equatable {
        /// A failing pre-install hook refuses the install; a failing later hook is reported.
        case abort
        /// Hook failures are reported and otherwise ignored.
        case ignore
    }

    /// Every executable here runs at each hook point, in name order (TWINSLOT_HOOK says which).
    public var hooksDirectory: String
    public var hookFailure: HookFailure
    /// The Prometheus textfile (node_exporter textfile collector); nil: `<data>/twinslot.prom`.
    public var metricsTextfile: String?
    /// How many operation reports `<data>/reports` keeps.
    public var reportsKept: Int

    public init(
        hooksDirectory: String = ReportingConfig.defaultHooksDirectory, hookFailure: HookFailure = .abort,
        metricsTextfile: String? = nil, reportsKept: Int = 20
    ) {
        self.hooksDirectory = hooksDirectory
        self.hookFailure = hookFailure
        self.metricsTextfile = metricsTextfile
        self.reportsKept = reportsKept
    }
}

/// How a slot is written.
public enum SlotType: String, Sendable, Equatable, CaseIterable {
    /// A block device or a file: the image is written byte for byte.
    case raw
    /// A directory tree extracted from a tar image, made current by an atomic symlink swap.
    case directory
}

/// One slot class: its two slots, A and B.
public struct SlotClassConfig: Sendable, Equatable {
    /// The class name bundles refer to (`[a-z][a-z0-9_-]*`).
    public var name: String
    public var type: SlotType
    /// The path of slot A.
    public var a: String
    /// The path of slot B.
    public var b: String
    /// Directory slots: the symlink pointing at the current slot's directory. Nil for raw slots.
    public var current: String?

    public init(name: String, type: SlotType, a: String, b: String, current: String? = nil) {
        self.name = name
        self.type = type
        self.a = a
        self.b = b
        self.current = current
    }

    /// The path of the slot of this class in group `letter`.
    public func path(for letter: SlotLetter) -> String {
        letter == .a ? a : b
    }
}

/// Health checks run by the boot service after a trial boot, and the commit deadlines.
public struct HealthConfig: Sendable, Equatable {
    public static let defaultDeadlineBoots = 3

    /// In file order.
    public var checks: [HealthCheckConfig]
    /// Roll back if the new group is not committed within this many boots.
    public var deadlineBoots: Int
    /// Roll back if the new group is not committed within this time after the flip; nil: no
    /// time limit.
    public var deadline: Duration?

    public init(
        checks: [HealthCheckConfig] = [], deadlineBoots: Int = HealthConfig.defaultDeadlineBoots,
        deadline: Duration? = nil
    ) {
        self.checks = checks
        self.deadlineBoots = deadlineBoots
        self.deadline = deadline
    }
}

/// What a health check probes.
public enum HealthCheckKind: Sendable, Equatable {
    /// Run a program (no shell); healthy when it exits 0.
    case command([String])
    /// Healthy when the path exists.
    case file(path: String)
    /// Healthy when a Unix socket at the path accepts a connection.
    case socket(path: String)
    /// Healthy when a TCP connection to host:port succeeds.
    case tcp(host: String, port: Int)
    /// Healthy when a GET of the URL answers 2xx.
    case http(url: String)
    /// Healthy when the systemd unit is active.
    case systemd(unit: String)

    /// "command", "file", "socket", "tcp", "http" or "systemd", as written in the file.
    public var name: String {
        switch self {
        case .command: "command"
        case .file: "file"
        case .socket: "socket"
        case .tcp: "tcp"
        case .http: "http"
        case .systemd: "systemd"
        }
    }

    public static let names = ["command", "file", "socket", "tcp", "http", "systemd"]
}

/// One `[[health.check]]`.
public struct HealthCheckConfig: Sendable, Equatable {
    public static let defaultTimeout: Duration = .seconds(10)
    public static let defaultRetryDelay: Duration = .seconds(1)

    /// Unique among the checks.
    public var name: String
    public var kind: HealthCheckKind
    /// How long one attempt may take.
    public var timeout: Duration
    /// A failing required check rolls back; a failing optional one is only reported.
    public var required: Bool
    /// Attempts after the first failure.
    public var retries: Int
    /// Pause between attempts.
    public var retryDelay: Duration

    public init(
        name: String, kind: HealthCheckKind, timeout: Duration = HealthCheckConfig.defaultTimeout,
        required: Bool = true, retries: Int = 0, retryDelay: Duration = HealthCheckConfig.defaultRetryDelay
    ) {
        self.name = name
        self.kind = kind
        self.timeout = timeout
        self.required = required
        self.retries = retries
        self.retryDelay = retryDelay
    }
}

extension Duration {
    /// Parses a configuration duration: a whole number followed by `ms`, `s`, `m` or `h`
    /// ("500ms", "10s", "2m", "1h").
    public init?(configText text: String) {
        let digits = text.prefix { $0.isASCII && $0.isNumber }
        let unit = text.dropFirst(digits.count)
        guard !digits.isEmpty, digits.count <= 12, let value = Int64(digits) else { return nil }
        switch unit {
        case "ms": self = .milliseconds(value)
        case "s": self = .seconds(value)
        case "m": self = .seconds(value * 60)
        case "h": self = .seconds(value * 3600)
        default: return nil
        }
    }

    /// The duration in the configuration syntax, in the largest exact unit ("2m", "1500ms").
    /// Sub-millisecond parts are dropped.
    public var configText: String {
        let (seconds, attoseconds) = components
        let milliseconds = seconds * 1000 + attoseconds / 1_000_000_000_000_000
        if milliseconds != 0 && milliseconds % 3_600_000 == 0 { return "\(milliseconds / 3_600_000)h" }
        if milliseconds != 0 && milliseconds % 60_000 == 0 { return "\(milliseconds / 60_000)m" }
        if milliseconds % 1000 == 0 { return "\(milliseconds / 1000)s" }
        return "\(milliseconds)ms"
    }
}

// MARK: - Loading

extension SystemConfig {
    /// Reads and decodes the configuration file at `path`.
    public static func load(path: String) throws -> SystemConfig {
        #if canImport(FoundationEssentials)
            var isDirectory = false
        #else
            var isDirectory: ObjCBool = false
        #endif
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw ConfigError(
                sourcePath: path,
                message:
                    "configuration file not found; pass --config PATH or set \(environmentVariable) to use another file (default \(defaultPath))"
            )
        }
        #if !canImport(FoundationEssentials)
            let isDirectory = isDirectory.boolValue
        #endif
        guard !isDirectory else {
            throw ConfigError(sourcePath: path, message: "is a directory, not a configuration file")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigError(sourcePath: path, message: "cannot read the configuration file (permission denied?)")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ConfigError(sourcePath: path, message: "the configuration file is not valid UTF-8")
        }
        return try parse(text: text, sourcePath: path)
    }

    /// Decodes configuration text. `sourcePath` names the file in messages.
    public static func parse(text: String, sourcePath: String? = nil) throws -> SystemConfig {
        let root = try TOMLParser.parse(text, sourcePath: sourcePath)
        return try ConfigDecoder(sourcePath: sourcePath).decode(root)
    }

    /// Checks a configuration built in code against every rule `parse` applies (by parsing its
    /// `renderTOML()`, so line numbers in an error refer to the rendered text).
    public func validate() throws {
        _ = try SystemConfig.parse(text: renderTOML(), sourcePath: sourcePath)
    }
}

// MARK: - Decoding

/// Reads the keys of one table, remembering which were used so that the rest can be reported as
/// unknown.
private struct TableReader {
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
private func closestKey(to key: String, among known: [String]) -> String? {
    let scored = known.map { ($0, editDistance(key, $0)) }.filter { $0.1 <= max(1, min(3, $0.0.count / 3)) }
    return scored.min { $0.1 < $1.1 }?.0
}

private func editDistance(_ lhs: String, _ rhs: String) -> Int {
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

private struct ConfigDecoder {
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

    // MARK: Bootloader

    func decodeBootloader(_ table: TOMLTable, line: Int) throws -> BootloaderConfig {
        var reader = TableReader(table, line: line, keyPrefix: "bootloader.", sourcePath: sourcePath)
        let (backendName, backendValue) = try reader.requiredString("backend")
        let onlyFor = { (backend: String) in "applies only to backend \"\(backend)\", not \"\(backendName)\"" }
        let backend: BootloaderConfig.Backend
        switch backendName {
        case "grub", "sim":
            try reader.forbid("uboot-env", onlyFor("uboot"))
            try reader.forbid("attempts", onlyFor("uboot"))
            try reader.forbid("script", onlyFor("script"))
            if backendName == "grub" {
                backend = .grub(grubenv: try reader.path("grubenv", required: false) ?? BootloaderConfig.defaultGrubenv)
            } else {
                backend = .sim(grubenv: try reader.path("grubenv", required: true)!)
            }
        case "uboot":
            try reader.forbid("grubenv", "applies only to backends \"grub\" and \"sim\", not \"uboot\"")
            try reader.forbid("script", onlyFor("script"))
            let environments = try decodeUBootEnv(&reader)
            // 1...9: the boot script's `setexpr` counts in hexadecimal (UBootBackend).
            let attempts = try reader.integer("attempts", in: 1...9) ?? BootloaderConfig.defaultAttempts
            backend = .uboot(environments: environments, attempts: attempts)
        case "script":
            try reader.forbid("grubenv", "applies only to backends \"grub\" and \"sim\", not \"script\"")
            try reader.forbid("uboot-env", onlyFor("uboot"))
            try reader.forbid("attempts", onlyFor("uboot"))
            backend = .script(command: try reader.path("script", required: true)!)
        default:
            throw reader.error(
                "backend", backendValue,
                "expected \"grub\", \"uboot\", \"script\" or \"sim\", got \(TOMLValue.quoted(backendName))")
        }

        var bootedSlot = BootedSlotSource.cmdline(path: BootloaderConfig.defaultCmdlinePath)
        let bootedSlotSetting = try reader.string("booted-slot")
        if let (text, value) = bootedSlotSetting, text != "cmdline" {
            guard text.hasPrefix("/") else {
                throw reader.error(
                    "booted-slot", value, "expected \"cmdline\" or an absolute file path, got \(TOMLValue.quoted(text))"
                )
            }
            try reader.forbid("cmdline-path", "applies only when booted-slot is \"cmdline\"")
            bootedSlot = .file(path: text)
        } else if let path = try reader.path("cmdline-path", required: false) {
            bootedSlot = .cmdline(path: path)
        }

        let rebootCommand = try reader.stringArray("reboot-command")?.0 ?? BootloaderConfig.defaultRebootCommand
        let bootIDPath = try reader.path("boot-id-path", required: false) ?? BootloaderConfig.defaultBootIDPath
        try reader.rejectUnknown(known: Keys.bootloader)
        return BootloaderConfig(
            backend: backend, bootedSlot: bootedSlot, rebootCommand: rebootCommand, bootIDPath: bootIDPath)
    }

    func decodeUBootEnv(_ reader: inout TableReader) throws -> [UBootEnvironmentLocation] {
        guard let value = reader.value("uboot-env") else { throw reader.missing("uboot-env") }
        let items: [TOMLValue]
        switch value {
        case .string: items = [value]
        case .array(let array, _): items = array
        default: throw reader.wrongType("uboot-env", value, expected: "an array of one or two strings")
        }
        guard (1...2).contains(items.count) else {
            throw reader.error(
                "uboot-env", value,
                "expected one line (single environment) or two (redundant environment), got \(items.count)")
        }
        var locations: [UBootEnvironmentLocation] = []
        for (position, item) in items.enumerated() {
            let what = "\(reader.describe("uboot-env")) line \(position + 1)"
            guard let text = item.stringValue else {
                throw reader.error(item.line, "\(what): expected a string, got \(item.typeDescription)")
            }
            let fields = text.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            guard fields.count == 3 else {
                throw reader.error(
                    item.line, "\(what): expected \"path offset size\", got \(TOMLValue.quoted(text))")
            }
            guard fields[0].hasPrefix("/") else {
                throw reader.error(item.line, "\(what): expected an absolute device or file path, got \"\(fields[0])\"")
            }
            guard let offset = parseSize(fields[1]) else {
                throw reader.error(item.line, "\(what): invalid offset \"\(fields[1])\" (decimal or 0x hex)")
            }
            guard let size = parseSize(fields[2]), size > 0 else {
                throw reader.error(item.line, "\(what): invalid size \"\(fields[2])\" (decimal or 0x hex, above zero)")
            }
            locations.append(UBootEnvironmentLocation(path: fields[0], offset: offset, size: size))
        }
        if locations.count == 2 {
            let (first, second) = (locations[0], locations[1])
            guard first.size == second.size else {
                throw reader.error(
                    "uboot-env", value, "the two copies of a redundant environment must have the same size")
            }
            if first.path == second.path && first.offset < second.offset + second.size
                && second.offset < first.offset + first.size
            {
                throw reader.error("uboot-env", value, "the two copies of the environment overlap")
            }
        }
        return locations
    }

    func parseSize(_ text: String) -> UInt64? {
        if text.hasPrefix("0x") || text.hasPrefix("0X") { return UInt64(text.dropFirst(2), radix: 16) }
        return UInt64(text)
    }

    // MARK: Slots

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
                    "type", typeValue, "expected \"raw\" or \"directory\", got \(TOMLValue.quoted(typeName))")
            }
            let a = try slot.path("a", required: true)!
            let b = try slot.path("b", required: true)!
            var current: String? = nil
            if type == .directory {
                current = try slot.path("current", required: true)!
            } else {
                try slot.forbid("current", "applies only to slots of type \"directory\"")
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

    // MARK: Health

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

// MARK: - Rendering

extension SystemConfig {
    /// The configuration as a `system.toml` document, every setting written out (defaults
    /// included). `SystemConfig.parse(text: config.renderTOML())` gives back an equal configuration.
    public func renderTOML() -> String {
        let q = TOMLValue.quoted
        func array(_ strings: [String]) -> String { "[" + strings.map(q).joined(separator: ", ") + "]" }
        var lines = [
            "# twinslot system configuration (see docs/configuration.md)",
            "compatible = \(q(compatible))",
            "data-directory = \(q(dataDirectory))",
            "keyring = \(q(keyring))",
            "",
            "[bootloader]",
            "backend = \(q(bootloader.backend.name))",
        ]
        switch bootloader.backend {
        case .grub(let grubenv), .sim(let grubenv):
            lines.append("grubenv = \(q(grubenv))")
        case .uboot(let environments, let attempts):
            lines.append("uboot-env = \(array(environments.map(\.configLine)))")
            lines.append("attempts = \(attempts)")
        case .script(let command):
            lines.append("script = \(q(command))")
        }
        switch bootloader.bootedSlot {
        case .cmdline(let path):
            lines.append("booted-slot = \"cmdline\"")
            lines.append("cmdline-path = \(q(path))")
        case .file(let path):
            lines.append("booted-slot = \(q(path))")
        }
        lines.append("reboot-command = \(array(bootloader.rebootCommand))")
        if bootloader.bootIDPath != BootloaderConfig.defaultBootIDPath {
            lines.append("boot-id-path = \(q(bootloader.bootIDPath))")
        }
        lines += [
            "",
            "[security]",
            "anti-rollback = \(security.antiRollback)",
            "allow-same-version = \(security.allowSameVersion)",
            "allow-older-version = \(security.allowOlderVersion)",
        ]
        for slot in slotClasses {
            lines += [
                "",
                "[slots.\(TOMLValue.renderKey(slot.name))]",
                "type = \(q(slot.type.rawValue))",
                "a = \(q(slot.a))",
                "b = \(q(slot.b))",
            ]
            if let current = slot.current { lines.append("current = \(q(current))") }
        }
        lines += ["", "[health]", "deadline-boots = \(health.deadlineBoots)"]
        if let deadline = health.deadline { lines.append("deadline = \(q(deadline.configText))") }
        for check in health.checks {
            lines += ["", "[[health.check]]", "name = \(q(check.name))", "kind = \(q(check.kind.name))"]
            switch check.kind {
            case .command(let command): lines.append("command = \(array(command))")
            case .file(let path), .socket(let path): lines.append("target = \(q(path))")
            case .tcp(let host, let port):
                lines.append("target = \(q(host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"))")
            case .http(let url): lines.append("target = \(q(url))")
            case .systemd(let unit): lines.append("target = \(q(unit))")
            }
            lines += [
                "timeout = \(q(check.timeout.configText))",
                "required = \(check.required)",
                "retries = \(check.retries)",
                "retry-delay = \(q(check.retryDelay.configText))",
            ]
        }
        lines += [
            "", "[reporting]", "hooks-directory = \(q(reporting.hooksDirectory))",
            "hook-failure = \(q(reporting.hookFailure.rawValue))", "reports-kept = \(reporting.reportsKept)",
        ]
        if let textfile = reporting.metricsTextfile { lines.append("metrics-textfile = \(q(textfile))") }
        lines += [
            "", "[network]", "low-speed-limit = \(network.lowSpeedLimit)",
            "low-speed-time = \(q(network.lowSpeedTime.configText))",
        ]
        return lines.joined(separator: "\n") + "\n"
    }
}
