import ArgumentParser
import TwinslotCore
import TwinslotFleet

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

            A URL (http:// or https://) is streamed the same way, with no local copy: a dropped \
            or stalled connection is resumed with a Range request from the first byte not yet \
            received, up to --retries failures in a row, backing off with jitter.

            --wait-health runs until the update is settled, for callers that want one command: \
            it installs, asks for the reboot (the configured reboot command), and waits until the \
            boot service committed (exit 0) or rolled back (exit 16). Run again after the reboot \
            (a Kubernetes Job's pod, a script), it does not install twice: while the bundle is \
            on its trial boot it waits for the decision; once committed it exits 0; if that \
            version was rolled back it exits 16 at once.
            """
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var transport: TransportOptions
    @Argument(help: "The bundle: a file, or an http(s) URL to stream from.") var bundle: String
    @Flag(help: "Check the bundle and print what would be written where; write nothing.") var dryRun = false
    @Flag(help: "Print JSON: progress events as JSON lines, then the result as the last line.") var json = false
    @Flag(help: "No progress bar.") var quiet = false
    @Flag(help: "Reboot into the trial and wait until it is committed (exit 0) or rolled back (exit 16).")
    var waitHealth = false
    @Option(help: ArgumentHelp("With --wait-health: give up after this many seconds (exit 18).", valueName: "seconds"))
    var waitTimeout = 1800

    func validate() throws {
        if waitHealth && dryRun { throw ValidationError("--wait-health and --dry-run exclude each other") }
    }

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

    /// With --wait-health, the last line once the boot service decided.
    struct Decision: Encodable {
        var outcome: String
        var version: String?
        var target: String?
        var reason: String?
        var operationId: String?
    }

    /// What streaming from a URL cost: bytes from the network, of them resent, and resumes.
    struct Download: Encodable {
        var bytesReceived: UInt64
        var bytesRefetched: UInt64
        var resumes: Int
        /// The bundle offset this install continued an interrupted one from (nil: the start).
        var resumedFrom: UInt64?
        /// How the transfer waited (TransferCounters): a download bound by the network has
        /// few polls, none of them paused, and almost no timeouts.
        var polls: Int
        var pollTimeouts: Int
        var pausedPolls: Int
        var pauses: Int
        var queuedBytes: UInt64
    }

    func run() throws {
        try reportingFailures(json: json) {
            let device = try global.device()
            let keyring = try Keyring(contentsOf: device.config.keyring)
            let progress = ProgressDisplay.choose(json: json, quiet: quiet)
            let installer = Installer(device: device, keyring: keyring, logger: Log.logger)
            if waitHealth, let settled = try settledEarlier(device: device, installer: installer) {
                return try finishWaiting(settled, json: json)
            }
            let source = try openBundle(bundle, transport: transport, network: device.config.network)
            let outcome = try installer.install(from: source, dryRun: dryRun, progress: progress)
            let download = (source as? HTTPByteSource).map {
                let counters = $0.totalCounters
                return Download(
                    bytesReceived: $0.totalBytesReceived, bytesRefetched: $0.totalBytesRefetched,
                    resumes: $0.totalResumes, resumedFrom: outcome.resumedFromOffset, polls: counters.polls,
                    pollTimeouts: counters.pollTimeouts, pausedPolls: counters.pausedPolls, pauses: counters.pauses,
                    queuedBytes: counters.queuedBytes)
            }
            if json {
                printJSONLine(
                    Report(
                        outcome: outcome.kind.rawValue, bundleHash: outcome.bundleHash, version: outcome.version,
                        securityVersion: outcome.securityVersion, target: outcome.target.rawValue, steps: outcome.steps,
                        flipSeconds: outcome.flipSeconds, download: download))
            } else {
                printSummary(outcome, download: download)
            }
            if waitHealth, outcome.kind == .staged, let id = outcome.operationID {
                try finishWaiting(try rebootAndWait(device: device, operationID: id), json: json)
            }
        }
    }

    private func printSummary(_ outcome: InstallOutcome, download: Download?) {
        switch outcome.kind {
        case .alreadyInstalled:
            print("bundle \(outcome.version) is already installed and running: nothing to do")
        case .planned:
            print("dry run: bundle \(outcome.version) verified; would write group \(outcome.target.rawValue):")
            for step in outcome.steps {
                // A compressed image of a .swu declares no size: it is known only once decoded.
                let size = step.size > 0 ? formatBytes(step.size) : "size unknown"
                let origin = step.copiedFrom.map { "copied from the running group's \($0)" } ?? "from the bundle"
                print("  \(step.slotClass) (\(step.type), \(origin)) -> \(step.slot)  \(size)")
            }
        case .staged:
            print("installed \(outcome.version) into group \(outcome.target.rawValue):")
            for step in outcome.steps {
                let copied = step.copiedFrom.map { ", copied from \($0)" } ?? ""
                print(
                    "  \(step.slotClass) -> \(step.slot)  \(formatBytes(step.size)) in "
                        + "\(fixedPoint(step.seconds ?? 0, digits: 2)) s\(copied), read back OK"
                        + (step.type == SlotType.oci.rawValue && step.copiedFrom == nil ? ", OCI layout verified" : ""))
            }
            if let download, download.resumes > 0 {
                print(
                    "download resumed \(download.resumes) time(s); \(formatBytes(download.bytesRefetched)) fetched twice"
                )
            }
            print("group \(outcome.target.rawValue) boots once on the next reboot, then commits if healthy")
        }
    }

    /// A run after the reboot: the bundle's version is on its trial boot (wait for it), or
    /// was already decided (report that, install nothing). Nil: install as usual.
    private func settledEarlier(device: Device, installer: Installer) throws -> DeviceState.FinishedOperation? {
        let (state, _) = try Journal.readState(storage: device.storage, directory: device.dataDirectory)
        // On the trial boot: installing is refused then, so recognise the operation by its source.
        let name = try openBundle(bundle, transport: transport, network: device.config.network).name
        if let operation = state.operation, operation.phase >= .flipped, operation.source == name {
            return try DecisionWaiter(device: device).wait(for: operation.id, timeout: .seconds(waitTimeout))
        }
        // Reading the manifest only (a dry run) tells the version without writing anything.
        let planned = try installer.install(
            from: try openBundle(bundle, transport: transport, network: device.config.network), dryRun: true)
        if planned.kind == .alreadyInstalled, let last = state.last, last.outcome == .committed { return last }
        if let last = state.last, last.outcome == .rolledBack, last.version == planned.version { return last }
        return nil
    }

    private func rebootAndWait(device: Device, operationID: String) throws -> DeviceState.FinishedOperation {
        try Reporter(device: device).reboot(environment: ["TWINSLOT_REASON": "install-wait-health"])
        return try DecisionWaiter(device: device).wait(for: operationID, timeout: .seconds(waitTimeout))
    }

    private func finishWaiting(_ decided: DeviceState.FinishedOperation, json: Bool) throws {
        let committed = decided.outcome == .committed
        if json {
            printJSONLine(
                Decision(
                    outcome: decided.outcome.rawValue, version: decided.version, target: decided.target?.rawValue,
                    reason: decided.reason, operationId: decided.id))
        } else {
            print(
                "\(decided.version ?? "the update") was \(decided.outcome.rawValue)"
                    + (decided.reason.map { ": \($0)" } ?? ""))
        }
        if !committed { throw ExitCode(FailureClass.healthFailed.exitCode) }
    }
}
