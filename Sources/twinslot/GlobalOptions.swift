import ArgumentParser
import TwinslotCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Options every device command takes.
struct GlobalOptions: ParsableArguments {
    @Option(
        name: .customLong("config"),
        help: ArgumentHelp(
            "The system configuration.", discussion: "Default: $TWINSLOT_CONFIG, else /etc/twinslot/system.toml.",
            valueName: "path"))
    var configPath: String?

    func device() throws -> Device {
        let path = SystemConfig.resolvePath(explicit: configPath)
        return try Device(config: try SystemConfig.load(path: path))
    }
}
