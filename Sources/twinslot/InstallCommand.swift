import ArgumentParser
import Foundation
import TwinslotCore
import TwinslotFleet

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

            A URL (http:// or https://) is streamed the same way, with no local copy: a dropped \
            or stalled connection is resumed with a Range request from the first byte not yet \
            received, up to --retries failures in a row, backing off with jitter.
            """
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var transport: TransportOptions
    @Argument(help: "The bundle: a file, or an http(s) URL to stream from.") var bundle: String
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
        var download: Download?
    }

    /// What streaming from a URL cost: bytes from the network, of them resent, and resumes.
    struct Download: Encodable {
        var bytesReceived: UInt64
        var bytesRefetched: UInt64
        var resumes: Int
    }

    func run() throws {
        try reportingFailures(json: json) {
            let device = try global.device()
            let keyring = try Keyring(contentsOf: device.config.keyring)
            let progress = ProgressDisplay.choose(json: json, quiet: quiet)
            let source = try openBundle(bundle, transport: transport)
            let outcome = try Installer(device: device, keyring: keyring).install(
                from: source, dryRun: dryRun, progress: progress)
            let download = (source as? HTTPByteSource).map {
                Download(bytesReceived: $0.bytesReceived, bytesRefetched: $0.bytesRefetched, resumes: $0.resumes)
            }
            if json {
                printJSONLine(
                    Report(
                        outcome: outcome.kind.rawValue, bundleHash: outcome.bundleHash, version: outcome.version,
                        securityVersion: outcome.securityVersion, target: outcome.target.rawValue, steps: outcome.steps,
                        flipSeconds: outcome.flipSeconds, download: download))
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
                        String(
                            format: "  %@ -> %@  %@ in %.2f s, read back OK", step.slotClass, step.slot,
                            formatBytes(step.size), step.seconds ?? 0))
                }
                if let download, download.resumes > 0 {
                    print(
                        "download resumed \(download.resumes) time(s); \(formatBytes(download.bytesRefetched)) fetched twice"
                    )
                }
                print("group \(outcome.target.rawValue) boots once on the next reboot, then commits if healthy")
            }
        }
    }
}
