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

/// A command that acts on the configured device: it takes `--config` (before or after its
/// name). Given before the name of any other command, `--config` would be parsed and ignored,
/// and a user would believe it was used: `Twinslot.main` refuses that (64).
protocol DeviceCommand {}

extension InstallCommand: DeviceCommand {}
extension StatusCommand: DeviceCommand {}
extension BootCommand: DeviceCommand {}
extension MarkGoodCommand: DeviceCommand {}
extension MarkBadCommand: DeviceCommand {}
extension BootloaderInitCommand: DeviceCommand {}
extension AgentCommand: DeviceCommand {}

/// `--config` given before the subcommand's name (the root's only option).
func configBeforeSubcommand(_ arguments: [String]) -> Bool {
    guard let first = arguments.first else { return false }
    return first == "--config" || first.hasPrefix("--config=")
}
