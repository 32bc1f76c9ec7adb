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

/// Whether a parsed command acts on the configured device: it declares the `GlobalOptions`
/// group (`--config`, before or after its name). Found by reflection, so that a new device
/// command needs no list kept by hand. Given before the name of any other command, `--config`
/// would be parsed and ignored, and a user would believe it was used: `Twinslot.main` refuses
/// that (64).
func takesGlobalOptions(_ command: any ParsableCommand) -> Bool {
    Mirror(reflecting: command).children.contains { $0.value is OptionGroup<GlobalOptions> }
}

/// `--config` given before the subcommand's name (the root's only option).
func configBeforeSubcommand(_ arguments: [String]) -> Bool {
    guard let first = arguments.first else { return false }
    return first == "--config" || first.hasPrefix("--config=")
}
