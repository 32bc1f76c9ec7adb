import ArgumentParser
import TwinslotCore
import TwinslotSim

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

struct SimCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sim",
        abstract: "A simulated device in a directory, for tests and trials.",
        discussion: """
            File-backed slots (rootfs and firmware raw, apps directory), the GRUB boot scheme in \
            a grubenv file, and a record of which group booted. 'sim reboot' runs the bootloader's \
            selection exactly as the grub.cfg snippet in docs/bootloaders.md does, then \
            'twinslot boot'. Point other commands at it with --config DIR/system.toml.
            """,
        subcommands: [SimInitCommand.self, SimRebootCommand.self]
    )
}

struct SimInitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init", abstract: "Create a simulated device: factory content in group A, A booted.")

    @Argument(help: "The directory (created if missing; must not hold a device).") var directory: String
    @Option(help: "PEM bundle of the CA certificates the device trusts.") var keyring: String
    @Option(help: "The device's compatible string.") var compatible: String = SimulatedDevice.compatible

    func run() throws {
        try reportingFailures {
            let absolute = URL(fileURLWithPath: directory).standardizedFileURL.path
            let sim = SimulatedDevice(directory: absolute)
            try sim.create(keyring: keyring, compatible: compatible)
            print("simulated device in \(absolute) (\(compatible)), group A booted")
            print("use it with: twinslot --config \(sim.configPath) …  or  TWINSLOT_CONFIG=\(sim.configPath)")
        }
    }
}

struct SimRebootCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reboot", abstract: "Power-cycle the simulated device and run the boot service.")

    @Argument(help: "The simulated device's directory.") var directory: String
    @Flag(help: "The group the bootloader picks first does not come up (the machine resets once more).")
    var failBoot = false
    @Flag(help: "Print JSON.") var json = false

    func run() throws {
        try reportingFailures(json: json) {
            let sim = SimulatedDevice(directory: URL(fileURLWithPath: directory).standardizedFileURL.path)
            let outcome = try sim.reboot(failBoot: failBoot)
            if json { printJSON(outcome) } else { printBootOutcome(outcome) }
            if outcome.rebootRequested {
                try Reporter(device: try sim.loadDevice()).reboot(environment: rebootEnvironment(outcome))
            }
        }
    }
}
