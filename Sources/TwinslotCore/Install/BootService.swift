import Logging
import SystemPackage

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// What `twinslot boot` found and did.
public struct BootOutcome: Sendable, Codable, Equatable {
    public enum Action: String, Sendable, Codable {
        /// A normal boot of the committed group (confirmed in the bootloader).
        case confirmed
        /// The first boot twinslot sees: the running group is adopted as the primary.
        case adopted
        /// The trial group passed its health checks and is now the primary.
        case committed
        /// The trial group failed its health checks: marked bad, reboot into the old group.
        case rolledBack = "rolled-back"
        /// The bootloader had already fallen back: the trial never came up.
        case fellBack = "fell-back"
        /// An install was interrupted before its flip: its target stays not bootable.
        case abandonedInstall = "abandoned-install"
        /// The running group is not the primary and no trial explains it.
        case unexpectedGroup = "unexpected-group"
        /// The trial was staged in this very boot: nothing to decide until the device reboots.
        case awaitingReboot = "awaiting-reboot"
        /// The bootloader environment was missing or damaged and was written anew from the journal.
        case repairedBootloader = "repaired-bootloader"
    }

    public var booted: SlotLetter
    public var actions: [Action]
    /// The trial's health checks, when it had any.
    public var health: [HealthCheckResult] = []
    public var detail: String?
    /// True when the device must reboot (into the old group) to finish.
    public var rebootRequested: Bool
}

/// `twinslot boot`: run on every boot. Recovers the journal, learns which group booted,
/// finishes or abandons an interrupted operation, and commits or rolls back a trial.
///
/// Under systemd it runs twice (docs/operations.md): `early` before services start, to recover
/// and point directory slots at the booted group, never waiting for anything; then, after
/// multi-user.target and boot-complete.target, the decision with its health checks.
public struct BootService {
    public let device: Device
    public var health: any HealthChecking
    /// Recover only: no health checks, no commit, no rollback of a trial.
    public var early: Bool
    /// Receives the decision, one entry per action (Installer's comment says why it is injected).
    public var logger: Logger

    public init(
        device: Device, health: any HealthChecking = HealthChecker(), early: Bool = false, logger: Logger = .disabled
    ) {
        self.device = device
        self.health = health
        self.early = early
        self.logger = logger
    }

    /// Runs the boot-time logic, then its hooks and report (which never change the outcome).
    public func run() throws -> BootOutcome {
        let started = Date()
        let (outcome, operation) = try decide()
        let reporter = Reporter(device: device)
        var report = OperationReport(kind: "boot", outcome: outcome.actions.last?.rawValue ?? "none", started: started)
        report.booted = outcome.booted
        report.operationID = operation?.id
        report.version = operation?.version
        report.target = operation?.target
        report.health = outcome.health
        report.error = outcome.detail
        var environment = ["TWINSLOT_BOOTED_GROUP": outcome.booted.rawValue, "TWINSLOT_OUTCOME": report.outcome]
        environment["TWINSLOT_VERSION"] = operation?.version
        environment["TWINSLOT_TARGET_GROUP"] = operation?.target.rawValue
        environment["TWINSLOT_REASON"] = outcome.detail
        let point: HookPoint? =
            outcome.actions.contains(.committed)
            ? .committed : outcome.actions.contains { $0 == .rolledBack || $0 == .fellBack } ? .rolledBack : nil
        if let point {
            environment["TWINSLOT_REPORT"] = (try? reporter.record(report)) ?? ""
            let failures = (try? reporter.runHooks(point, environment: environment)) ?? ["a hook failed"]
            if !failures.isEmpty {
                report.error = ([report.error].compactMap { $0 } + failures.map { "\(point.rawValue) hook \($0)" })
                    .joined(separator: "; ")
            }
        }
        _ = try? reporter.record(report)
        logDecision(outcome, operation: operation)
        return outcome
    }

    /// One entry per action: a commit or a normal boot at notice, a rollback, fallback or
    /// abandoned install at warning with its reason, an unexplained group at error. Only the
    /// actions about the operation carry its id, version and slot (and the reason): a
    /// `confirmed` after a fallback is about the booted group, not the failed trial.
    func logDecision(_ outcome: BootOutcome, operation: DeviceState.Operation?) {
        var log = logger
        log[metadataKey: "booted"] = "\(outcome.booted.rawValue)"
        for action in outcome.actions {
            var metadata: Logger.Metadata = ["phase": "\(action.rawValue)"]
            let level: Logger.Level
            let aboutOperation: Bool
            switch action {
            case .confirmed, .adopted: (level, aboutOperation) = (.notice, false)
            case .committed, .awaitingReboot: (level, aboutOperation) = (.notice, true)
            case .rolledBack, .fellBack, .abandonedInstall: (level, aboutOperation) = (.warning, true)
            case .repairedBootloader: (level, aboutOperation) = (.warning, false)
            case .unexpectedGroup: (level, aboutOperation) = (.error, false)
            }
            var text = "boot of group \(outcome.booted.rawValue): \(action.rawValue)"
            if aboutOperation, let operation {
                metadata["operation-id"] = "\(operation.id)"
                metadata["bundle-version"] = "\(operation.version)"
                metadata["slot"] = "\(operation.target.rawValue)"
                text += " (\(operation.version) in group \(operation.target.rawValue))"
            }
            if aboutOperation || action == .repairedBootloader || action == .unexpectedGroup,
                let detail = outcome.detail
            {
                metadata["reason"] = "\(detail)"
                text += ": \(detail)"
            }
            log.log(level: level, "\(text)", metadata: metadata)
        }
    }

    /// Recovers and decides; returns the outcome and the operation it concerned.
    func decide() throws -> (BootOutcome, DeviceState.Operation?) {
        let lock = try InstallLock(dataDirectory: device.config.dataDirectory, wait: true)
        defer { withExtendedLifetime(lock) {} }
        let journal = Journal(storage: device.storage, directory: device.dataDirectory)
        try journal.recover()
        // Whatever the outcome, the bootloader's copy of the anti-rollback floor catches up with
        // the journal's (a power cut may have come between a COMMITTED and its mirror).
        defer { try? device.mirrorSecurityFloor(journal.state) }
        let booted = try device.bootedGroup()
        let bootID = device.bootID()
        try DirectorySlots(device: device).pointCurrent(at: booted)
        var outcome = BootOutcome(booted: booted, actions: [], detail: nil, rebootRequested: false)

        if (try? device.boot.read()) == nil {
            // GRUB booted on grub.cfg's defaults (or U-Boot on its built-in environment): write
            // the environment the journal describes, and go to the committed group.
            let primary = journal.state.primary ?? booted
            try device.boot.provision(primary: primary)
            outcome.actions.append(.repairedBootloader)
            outcome.detail =
                "the \(device.boot.name) environment was missing or damaged; rewritten with group \(primary.rawValue) committed"
            if let operation = journal.state.operation {
                try journal.append(
                    .failed(
                        reason: "the bootloader environment was lost during the install of \(operation.version)",
                        failureClass: FailureClass.io.rawValue))
            }
            outcome.rebootRequested = primary != booted
            return (outcome, nil)
        }

        let operationSeen = journal.state.operation
        if var operation = journal.state.operation {
            if operation.phase < .flipped {
                // The bootloader may hold the trial while FLIPPED was not journaled yet.
                let bootState = try device.boot.read()
                let trialInBootloader: Bool
                if case .trial = bootState.slots[operation.target] {
                    trialInBootloader = true
                } else {
                    trialInBootloader = false
                }
                if operation.isFullyStaged && trialInBootloader {
                    try journal.append(.flipped(operation.target))
                    operation.phase = .flipped
                } else {
                    try device.boot.disable(operation.target)
                    let reason =
                        "install of \(operation.version) into group \(operation.target.rawValue) was interrupted "
                        + "during \(operation.phase.rawValue); that group stays not bootable"
                    try journal.append(.failed(reason: reason, failureClass: FailureClass.io.rawValue))
                    outcome.actions.append(.abandonedInstall)
                    outcome.detail = reason
                }
            }
            if operation.phase >= .flipped && bootID != nil && operation.bootID == bootID {
                outcome.actions.append(.awaitingReboot)
                outcome.detail =
                    "group \(operation.target.rawValue) holds \(operation.version) as the trial for the next boot; "
                    + "nothing to decide until the device reboots"
                return (outcome, operationSeen)
            }
            if early { return (outcome, operationSeen) }
            if operation.phase >= .flipped {
                let target = operation.target
                if booted == target {
                    if bootID == nil || operation.trialBootID != bootID {
                        try journal.append(.bootedTrial(target, bootID: bootID))
                    }
                    if let expired = deadlineExpired(journal.state.operation) {
                        try rollBack(journal, from: target, reason: expired)
                        outcome.actions.append(.rolledBack)
                        outcome.detail = expired
                        outcome.rebootRequested = true
                        return (outcome, operationSeen)
                    }
                    let verdict = health.check(device: device, group: target)
                    outcome.health = verdict.results
                    if let problem = verdict.problem {
                        try rollBack(journal, from: target, reason: problem)
                        outcome.actions.append(.rolledBack)
                        outcome.detail = problem
                        outcome.rebootRequested = true
                        return (outcome, operationSeen)
                    }
                    try device.boot.commit(target)
                    try journal.append(.committed(target))
                    outcome.actions.append(.committed)
                    return (outcome, operationSeen)
                }
                let reason =
                    "the trial boot of group \(target.rawValue) did not come up; "
                    + "the bootloader fell back to \(booted.rawValue)"
                try rollBack(journal, from: target, reason: reason)
                outcome.actions.append(.fellBack)
                outcome.detail = reason
            }
        }

        if early { return (outcome, operationSeen) }
        switch journal.state.primary {
        case nil:
            try device.boot.commit(booted)
            try journal.append(.committed(booted))
            outcome.actions.append(.adopted)
        case booted:
            try device.boot.confirm(booted)
            outcome.actions.append(.confirmed)
        case let primary?:
            outcome.actions.append(.unexpectedGroup)
            if try device.boot.read().slots[primary] != .bad {
                // A power cut during a normal boot used up the primary's try before it was
                // confirmed, so the bootloader fell back: re-arm the primary and go back to it.
                try device.boot.commit(primary)
                outcome.rebootRequested = true
                outcome.detail =
                    "running group \(booted.rawValue) but the primary is \(primary.rawValue) (its boot was not "
                    + "confirmed); rebooting into the primary group"
            } else {
                outcome.detail =
                    "running group \(booted.rawValue) but the primary is \(primary.rawValue), which the bootloader "
                    + "cannot start. Nothing was changed"
            }
        }
        return (outcome, operationSeen)
    }

    /// Why the trial may not be committed any more: it came up more often than
    /// `health.deadline-boots` without being committed, or `health.deadline` passed since FLIPPED.
    func deadlineExpired(_ operation: DeviceState.Operation?) -> String? {
        guard let operation else { return nil }
        let health = device.config.health
        if operation.trialBoots > health.deadlineBoots {
            return "the trial was not committed within \(health.deadlineBoots) boot(s) (health deadline)"
        }
        if let deadline = health.deadline, let flipped = operation.flippedAt,
            Date().timeIntervalSince(flipped) > HealthChecker.seconds(deadline)
        {
            return "the trial was not committed within \(deadline.configText) of the flip (health deadline)"
        }
        return nil
    }

    /// The trial group is marked not bootable first, then the journal says so.
    func rollBack(_ journal: Journal, from group: SlotLetter, reason: String) throws {
        try device.boot.disable(group)
        try journal.append(.rolledBack(from: group, to: group.other, reason: reason))
    }
}

/// Directory (and OCI) slot classes are made current by an atomic symlink swap that follows the booted
/// group, so they flip with the boot slots, and fall back with them too.
public struct DirectorySlots {
    public let device: Device

    public init(device: Device) { self.device = device }

    public func pointCurrent(at group: SlotLetter) throws {
        let storage = device.storage
        for slotClass in device.config.slotClasses where slotClass.type.isDirectoryTree {
            guard let current = slotClass.current else { continue }
            let target = slotClass.path(for: group)
            if try storage.readSymlink(FilePath(current)) == target { continue }
            let temporary = FilePath(current + ".new")
            try storage.remove(temporary)
            try storage.makeSymlink(at: temporary, pointingTo: target)
            try storage.rename(temporary, to: FilePath(current))
            try storage.syncDirectory(FilePath(current).removingLastComponent())
        }
    }
}
