import ArgumentParser
import TwinslotCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

struct InstallCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "install",
        abstract: "Install a bundle into the inactive slot group and make it the next boot's trial.",
        discussion: """
            The bundle is streamed once: its signature is verified before anything is written, \
            the target group is made unbootable, each image is decompressed, hashed, written, \
            synced and read back, and only then is the group offered to the bootloader for one \
            trial boot. The next 'twinslot boot' commits it if it is healthy; otherwise the \
            device falls back by itself. Installing the bundle the device already runs is a no-op.
            """
    )

    @OptionGroup var global: GlobalOptions
    @Argument(help: "The bundle file.") var bundle: String
    @Flag(help: "Check the bundle and print what would be written where; write nothing.") var dryRun = false
    @Flag(help: "Print JSON: progress events as JSON lines, then the result as the last line.") var json = false
    @Flag(help: "No progress bar.") var quiet = false

    struct Report: Encodable {
        var outcome: String
        var bundleHash: String
        var version: String
        var securityVersion: UInt64
        var target: String
        var steps: [InstallOutcome.Step]
        var flipSeconds: Double?
    }

    func run() throws {
        try reportingFailures(json: json) {
            let device = try global.device()
            let keyring = try Keyring(contentsOf: device.config.keyring)
            let progress = ProgressDisplay.choose(json: json, quiet: quiet)
            let outcome = try Installer(device: device, keyring: keyring).install(
                from: try FileByteSource(path: bundle), dryRun: dryRun, progress: progress)
            if json {
                printJSONLine(
                    Report(
                        outcome: outcome.kind.rawValue, bundleHash: outcome.bundleHash, version: outcome.version,
                        securityVersion: outcome.securityVersion, target: outcome.target.rawValue, steps: outcome.steps,
                        flipSeconds: outcome.flipSeconds))
                return
            }
            switch outcome.kind {
            case .alreadyInstalled:
                print("bundle \(outcome.version) is already installed and running: nothing to do")
            case .planned:
                print("dry run: bundle \(outcome.version) verified; would write group \(outcome.target.rawValue):")
                for step in outcome.steps {
                    print("  \(step.slotClass) (\(step.type)) -> \(step.slot)  \(formatBytes(step.size))")
                }
            case .staged:
                print("installed \(outcome.version) into group \(outcome.target.rawValue):")
                for step in outcome.steps {
                    print(
                        "  \(step.slotClass) -> \(step.slot)  \(formatBytes(step.size)) in "
                            + "\(fixedPoint(step.seconds ?? 0, digits: 2)) s, read back OK")
                }
                print("group \(outcome.target.rawValue) boots once on the next reboot, then commits if healthy")
            }
        }
    }
}
