import ArgumentParser
import SystemPackage
import TwinslotCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

extension SlotLetter: ExpressibleByArgument {
    public init?(argument: String) { self.init(name: argument) }
}

struct BootloaderCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bootloader",
        abstract: "Factory provisioning of the bootloader environment.",
        subcommands: [BootloaderInitCommand.self]
    )
}

/// What a device maker runs once, on the production line or in the image build, so that the
/// bootloader's first boot already finds the scheme's variables (docs/operations.md).
struct BootloaderInitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Write the initial bootloader environment: one group committed, the other not bootable.",
        discussion: """
            Uses the [bootloader] section of system.toml: for GRUB it creates the grubenv file \
            (1024 bytes, as grub-editenv writes it); for U-Boot it writes the environment copies \
            of uboot-env, keeping the variables already there (bootcmd, …) or, on a blank \
            environment, taking them from --defaults. The group given by --primary (A unless \
            told) is committed with the full number of attempts; the other is not bootable until \
            an install stages it. The first `twinslot boot` then adopts the primary.

            An environment that already holds the scheme's variables is left alone unless \
            --force is given: on a running device, rewriting it forgets a trial or a rollback.
            """
    )

    @OptionGroup var global: GlobalOptions
    @Option(help: "The group that holds the factory image.") var primary: SlotLetter = .a
    @Option(
        help: ArgumentHelp(
            "U-Boot only: a file of name=value lines, the board's default environment (bootcmd, …).",
            valueName: "file"))
    var defaults: String?
    @Flag(help: "Rewrite an environment that already holds the scheme's variables.") var force = false

    func run() throws {
        try reportingFailures {
            let device = try global.device()
            if !force, let state = try? device.boot.read(), state.primary != nil {
                throw CommandFailure(
                    .state,
                    "the \(device.boot.name) environment already holds a committed group "
                        + "(\(state.primary!.rawValue)); pass --force to rewrite it")
            }
            if let defaults {
                guard let backend = device.boot as? UBootBackend else {
                    throw ValidationError("--defaults applies to the uboot backend only")
                }
                try backend.provision(primary: primary, defaults: try Self.readDefaults(defaults))
            } else {
                try device.boot.provision(primary: primary)
            }
            let state = try device.boot.read()
            print(
                "\(device.boot.name): group \(primary.rawValue) committed, group \(primary.other.rawValue) not bootable"
            )
            print("  next boot: \(state.nextBoot?.rawValue ?? "none")")
        }
    }

    static func readDefaults(_ path: String) throws -> [String: String] {
        guard let bytes = try PosixStorage().readFile(FilePath(path)) else {
            throw CommandFailure(.config, "cannot read the defaults file \(path)")
        }
        var variables: [String: String] = [:]
        for (number, line) in String(decoding: bytes, as: UTF8.self).split(separator: "\n").enumerated() {
            let text = line.trimmingWhitespace()
            if text.isEmpty || text.hasPrefix("#") { continue }
            guard let equals = text.firstIndex(of: "="), equals != text.startIndex else {
                throw CommandFailure(.config, "\(path) line \(number + 1): expected name=value")
            }
            variables[String(text[..<equals])] = String(text[text.index(after: equals)...])
        }
        return variables
    }
}
