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
///
/// What the server asks is honoured as the DDI API describes it: `download`/`update` =
/// `skip` | `attempt` | `forced` (twinslot consents to `attempt` at once), a maintenance window
/// (download, report `downloaded`, install once it is `available`), and `cancelAction`
/// (accepted while nothing has been written, rejected with the reason once the bundle is staged).
public final class HawkBitAgent {
    public struct Identity: Sendable {
        public var board: String
        public var revision: String
        /// Operator-defined configData attributes, sent besides the three above.
        public var attributes: AgentAttributes

        public init(board: String, revision: String, attributes: AgentAttributes = .none) {
            self.board = board
            self.revision = revision
            self.attributes = attributes
        }
    }

    /// What one poll cycle did, for `agent --once` and logs.
    public enum CycleResult: Equatable, Sendable {
        case idle
        case installedAwaitingReboot(version: String?)
        case waitingForBootDecision
        case reported(success: Bool)
        case refused(FailureClass)
        /// Downloaded; the server does not allow the install yet (maintenance window, `update: skip`).
        case downloaded(version: String?)
        case canceled
        case cancelRejected
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
    /// The server's `Retry-After` with the last failed poll, in seconds.
    public private(set) var retryAfter: Double?

    /// One poll and whatever it asks for. Keeps the agent's metrics: a cycle that throws is a
    /// failure in a row, one that returns resets the count.
    public func cycle() throws -> CycleResult {
        var state = AgentState.load(device)
        var metrics = state.metrics ?? AgentMetrics()
        do {
            let base: DDI.ControllerBase
            do {
                base = try client.poll()
                retryAfter = nil
            } catch {
                retryAfter = PollSchedule.retryAfterSeconds(client.lastRetryAfter)
                throw error
            }
            metrics.lastSuccessfulPoll = Date().timeIntervalSince1970
            state.metrics = metrics
            let result = try handle(base, state: &state)
            state = AgentState.load(device)
            metrics = state.metrics ?? metrics
            metrics.consecutiveFailures = 0
            (metrics.actionID, metrics.phase) = Self.phase(of: state, result)
            state.metrics = metrics
            try? state.save(device)
            metrics.publish(device)
            return result
        } catch {
            // What the cycle saved (the poll's time, the phase it reached), one failure more.
            state = AgentState.load(device)
            let failures = metrics.consecutiveFailures + 1
            metrics = state.metrics ?? metrics
            metrics.consecutiveFailures = failures
            state.metrics = metrics
            try? state.save(device)
            metrics.publish(device)
            throw error
        }
    }

    /// The phase a cycle that returned leaves the action in. (One that threw keeps the phase it
    /// had reached, e.g. `installing` for an install that will resume at the next cycle.)
    static func phase(of state: AgentState, _ result: CycleResult) -> (String?, String?) {
        if let pending = state.pending { return (pending.actionID, "waiting-for-boot") }
        if let downloaded = state.downloaded { return (downloaded.actionID, "downloaded") }
        return (nil, nil)
    }

    private func handle(_ base: DDI.ControllerBase, state: inout AgentState) throws -> CycleResult {
        sleepSeconds = base.sleepSeconds ?? sleepSeconds
        try state.save(device)
        let (journalState, _) = try Journal.readState(storage: device.storage, directory: device.dataDirectory)
        let booted = try device.bootedGroup()
        let running = journalState.group(booted).version

        if let link = base.links?.cancelAction { return try cancel(link, state: &state) }

        if let pending = state.pending {
            if let result = try closeIfDecided(pending, journalState: journalState, state: &state) { return result }
            // Installed, not yet decided: the next boot does that. Nothing else is installed
            // meanwhile (the installer would refuse it while the trial is undecided).
            return .waitingForBootDecision
        }

        var attributes = try identity.attributes.read()
        attributes["hw_boardname"] = attributes["hw_boardname"] ?? identity.board
        attributes["hw_revision"] = attributes["hw_revision"] ?? identity.revision
        attributes["sw_version"] = running ?? "unknown"
        if let link = base.links?.configData ?? (state.configSent != attributes ? configLink() : nil) {
            try client.sendConfigData(link, attributes: attributes)
            state.configSent = attributes
            try state.save(device)
            logger.info("sent configData", metadata: ["sw_version": "\(running ?? "unknown")"])
        }

        guard let link = base.links?.deploymentBase else {
            // The server withdrew the action: a download kept for it is of no use any more.
            if state.downloaded != nil { try discardDownload(&state) }
            return .idle
        }
        let deployment = try client.deployment(link)
        if let downloaded = state.downloaded, downloaded.actionID != deployment.id { try discardDownload(&state) }
        // DDI: `download: skip` means neither download nor install now.
        if deployment.deployment.download == "skip" { return .idle }
        let mayInstall =
            deployment.deployment.update != "skip" && deployment.deployment.maintenanceWindow != "unavailable"
        if !mayInstall { return try downloadOnly(deployment, link: link, state: &state) }
        return try install(deployment, link: link, state: &state)
    }

    private func configLink() -> DDI.Link { DDI.Link(href: client.base + "/configData") }

    /// `cancelAction`: accepted while nothing of the action has been written to a slot (not
    /// started, or downloaded and waiting for its window); rejected once its bundle is staged
    /// and the trial boot is pending, because then the boot service's decision is the action's
    /// end and the agent reports it. Cancel feedback goes to `{cancelAction}/feedback`.
    private func cancel(_ link: DDI.Link, state: inout AgentState) throws -> CycleResult {
        let stopID = try client.cancelAction(link).cancelAction.stopId
        if let pending = state.pending, pending.actionID == stopID {
            try client.sendFeedback(
                deployment: link,
                DDI.Feedback(
                    id: stopID, execution: .rejected, finished: .none,
                    details: [
                        "twinslot: cannot cancel: \(pending.version ?? "the bundle") is already written and its trial "
                            + "boot is pending; the action ends with the boot's commit or rollback"
                    ]))
            logger.info("rejected cancel", metadata: ["action": "\(stopID)"])
            return .cancelRejected
        }
        if state.downloaded?.actionID == stopID { try discardDownload(&state) }
        try client.sendFeedback(
            deployment: link,
            DDI.Feedback(
                id: stopID, execution: .closed, finished: .success,
                details: ["twinslot: canceled before anything was written to a slot"]))
        logger.info("canceled action", metadata: ["action": "\(stopID)"])
        return .canceled
    }

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
        // The boot service's report of this operation carries each health check's verdict.
        let report = Reporter(device: device).reports().last {
            $0.operationID == pending.operationID && $0.kind != "install"
        }
        if let report {
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
}
