#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

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
