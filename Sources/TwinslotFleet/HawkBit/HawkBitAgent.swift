import Logging
import TwinslotCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// A hawkBit DDI client for one device: poll, tell the server what runs here, install what it
/// assigns (streamed, resumable, every announced hash checked, anti-rollback applied by the
/// installer), reboot into the trial, and after the boot service decided, close the action
/// with success or with the health details. It never stands between the device and booting:
/// the boot service commits or rolls back on its own, and the agent only reports.
public final class HawkBitAgent {
    public struct Identity: Sendable {
        public var board: String
        public var revision: String

        public init(board: String, revision: String) {
            self.board = board
            self.revision = revision
        }
    }

    /// What one poll cycle did, for `agent --once` and logs.
    public enum CycleResult: Equatable, Sendable {
        case idle
        case installedAwaitingReboot(version: String?)
        case waitingForBootDecision
        case reported(success: Bool)
        case refused(FailureClass)
    }

    let device: Device
    let keyring: Keyring
    let client: DDIClient
    let identity: Identity
    let logger: Logger
    /// Asked to reboot after an install; the configured reboot command by default.
    var reboot: () throws -> Void

    public init(device: Device, keyring: Keyring, client: DDIClient, identity: Identity, logger: Logger) {
        self.device = device
        self.keyring = keyring
        self.client = client
        self.identity = identity
        self.logger = logger
        reboot = { try Reporter(device: device).reboot(environment: ["TWINSLOT_REASON": "agent-install"]) }
    }

    /// The polling interval the server asked for at the last poll.
    public private(set) var sleepSeconds: Double = 60

    /// One poll and whatever it asks for.
    public func cycle() throws -> CycleResult {
        let base = try client.poll()
        sleepSeconds = base.sleepSeconds ?? sleepSeconds
        var state = AgentState.load(device)
        let (journalState, _) = try Journal.readState(storage: device.storage, directory: device.dataDirectory)
        let booted = try device.bootedGroup()
        let running = journalState.group(booted).version

        if let pending = state.pending {
            if let result = try closeIfDecided(pending, journalState: journalState, state: &state) { return result }
            // Installed, not yet decided: the next boot does that. Nothing else is installed
            // meanwhile (the installer would refuse it while the trial is undecided).
            return .waitingForBootDecision
        }

        let attributes = [
            "hw_boardname": identity.board, "hw_revision": identity.revision,
            "sw_version": running ?? "unknown",
        ]
        if let link = base.links?.configData ?? (state.configSent != attributes ? configLink() : nil) {
            try client.sendConfigData(link, attributes: attributes)
            state.configSent = attributes
            try state.save(device)
            logger.info("sent configData", metadata: ["sw_version": "\(running ?? "unknown")"])
        }

        guard let link = base.links?.deploymentBase else { return .idle }
        let deployment = try client.deployment(link)
        if deployment.deployment.update == "skip" { return .idle }
        return try install(deployment, link: link, state: &state)
    }

    private func configLink() -> DDI.Link { DDI.Link(href: client.base + "/configData") }

    /// After the reboot: the journal says how the operation ended.
    private func closeIfDecided(_ pending: AgentState.PendingAction, journalState: DeviceState, state: inout AgentState)
        throws -> CycleResult?
    {
        if journalState.operation?.id == pending.operationID { return nil }
        let link = DDI.Link(href: pending.deploymentHref)
        var success = false
        var details: [String] = []
        if let last = journalState.last, last.id == pending.operationID {
            success = last.outcome == .committed
            details.append("twinslot: \(last.outcome.rawValue) \(last.version ?? "")")
            if let reason = last.reason { details.append(reason) }
        } else {
            details.append("twinslot: the install's outcome is no longer in the journal")
        }
        if let report = Reporter(device: device).reports().last(where: { $0.operationID == pending.operationID }) {
            for check in report.health {
                details.append("health \(check.name): \(check.passed ? "passed" : "FAILED") \(check.detail)")
            }
            if let error = report.error { details.append(error) }
        }
        try client.sendFeedback(
            deployment: link,
            DDI.Feedback(
                id: pending.actionID, execution: .closed, finished: success ? .success : .failure, details: details))
        logger.info("closed action", metadata: ["action": "\(pending.actionID)", "success": "\(success)"])
        state.pending = nil
        state.configSent = nil  // the running version may have changed: tell the server again
        try state.save(device)
        return .reported(success: success)
    }

    private func install(_ deployment: DDI.DeploymentBase, link: DDI.Link, state: inout AgentState) throws
        -> CycleResult
    {
        let chunks = deployment.deployment.chunks
        guard chunks.count == 1, let chunk = chunks.first, chunk.artifacts.count == 1,
            let artifact = chunk.artifacts.first,
            let url = artifact.downloadURL
        else {
            let detail = "twinslot installs exactly one bundle per action (got \(chunks.count) chunk(s))"
            try client.sendFeedback(
                deployment: link,
                DDI.Feedback(id: deployment.id, execution: .closed, finished: .failure, details: [detail]))
            return .refused(.badBundle)
        }
        let feedback = ProgressFeedback(
            client: try client.singleAttempt(), link: link, actionID: deployment.id, size: artifact.size)
        try client.sendFeedback(
            deployment: link,
            DDI.Feedback(
                id: deployment.id, execution: .proceeding, finished: .none,
                details: ["Downloading \(artifact.filename) (\(chunk.version ?? "?"))"]))
        let source = ArtifactSource(
            try HTTPByteSource(url: url, options: client.options), size: artifact.size, hashes: artifact.hashes ?? [:])
        let outcome: InstallOutcome
        do {
            outcome = try Installer(device: device, keyring: keyring).install(
                from: source, progress: { feedback.progress($0) })
        } catch {
            let failureClass = (error as? any ClassifiedError)?.failureClass ?? .internalError
            switch failureClass {
            case .network, .busy:
                // Try again at the next poll; the server keeps offering the action.
                try? client.sendFeedback(
                    deployment: link,
                    DDI.Feedback(
                        id: deployment.id, execution: .proceeding, finished: .none,
                        details: ["twinslot: \(failureClass.rawValue): \(error); will retry"]))
                throw error
            default:
                try client.sendFeedback(
                    deployment: link,
                    DDI.Feedback(
                        id: deployment.id, execution: .closed, finished: .failure,
                        details: ["twinslot: \(failureClass.rawValue) (exit \(failureClass.exitCode))", "\(error)"]))
                logger.error("install refused", metadata: ["action": "\(deployment.id)", "error": "\(error)"])
                return .refused(failureClass)
            }
        }
        if outcome.kind == .alreadyInstalled {
            try client.sendFeedback(
                deployment: link,
                DDI.Feedback(
                    id: deployment.id, execution: .closed, finished: .success,
                    details: ["twinslot: \(outcome.version) is already installed and committed"]))
            return .reported(success: true)
        }
        state.pending = AgentState.PendingAction(
            actionID: deployment.id, deploymentHref: link.href, version: outcome.version,
            operationID: outcome.operationID ?? "")
        try state.save(device)
        try client.sendFeedback(
            deployment: link,
            DDI.Feedback(
                id: deployment.id, execution: .proceeding, finished: .none,
                details: [
                    "Downloaded 100%",
                    "twinslot: \(outcome.version) staged in group \(outcome.target.rawValue); rebooting into a trial boot",
                ]))
        logger.info("installed; rebooting", metadata: ["version": "\(outcome.version)"])
        try reboot()
        return .installedAwaitingReboot(version: outcome.version)
    }
}

/// Sends "Downloaded NN%" (the detail goosebit draws its progress bar from) every 10%, from
/// the install's progress callback, best effort: a lost progress message costs nothing.
final class ProgressFeedback: @unchecked Sendable {
    private let client: DDIClient
    private let link: DDI.Link
    private let actionID: String
    private let size: UInt64?
    private var lastTenth = 0
    private var done: UInt64 = 0
    private var currentClass = ""
    private var classBase: UInt64 = 0

    init(client: DDIClient, link: DDI.Link, actionID: String, size: UInt64?) {
        self.client = client
        self.link = link
        self.actionID = actionID
        self.size = size
    }

    func progress(_ progress: Installer.Progress) {
        if progress.slotClass != currentClass {
            classBase = done
            currentClass = progress.slotClass
        }
        done = classBase + progress.bytes
        guard let size, size > 0 else { return }
        // Image bytes, not download bytes: close enough for a progress bar, capped below 100.
        let tenth = min(9, Int(done * 10 / max(size, 1)))
        guard tenth > lastTenth else { return }
        lastTenth = tenth
        try? client.sendFeedback(
            deployment: link,
            DDI.Feedback(
                id: actionID, execution: .proceeding, finished: .none, details: ["Downloaded \(tenth * 10)%"],
                progress: (tenth, 10)))
    }
}
