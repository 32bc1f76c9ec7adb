import Foundation
import SystemPackage

/// Decides whether the running trial group is healthy. The health-check engine plugs in here;
/// until it does, `PassingHealthCheck` accepts every boot.
public protocol HealthChecking {
    /// Returns nil when healthy, or why not.
    func check(device: Device, group: SlotLetter) -> String?
}

public struct PassingHealthCheck: HealthChecking {
    public init() {}
    public func check(device: Device, group: SlotLetter) -> String? { nil }
}

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
    }

    public var booted: SlotLetter
    public var actions: [Action]
    public var detail: String?
    /// True when the device must reboot (into the old group) to finish.
    public var rebootRequested: Bool
}

/// `twinslot boot`: run early on every boot. Recovers the journal, learns which group booted,
/// finishes or abandons an interrupted operation, and commits or rolls back a trial.
public struct BootService {
    public let device: Device
    public var health: any HealthChecking

    public init(device: Device, health: any HealthChecking = PassingHealthCheck()) {
        self.device = device
        self.health = health
    }

    public func run() throws -> BootOutcome {
        let lock = try InstallLock(dataDirectory: device.config.dataDirectory, wait: true)
        defer { withExtendedLifetime(lock) {} }
        let journal = Journal(storage: device.storage, directory: device.dataDirectory)
        try journal.recover()
        let booted = try device.bootedGroup()
        try DirectorySlots(device: device).pointCurrent(at: booted)
        var outcome = BootOutcome(booted: booted, actions: [], detail: nil, rebootRequested: false)

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
            if operation.phase >= .flipped {
                let target = operation.target
                if booted == target {
                    if operation.phase == .flipped { try journal.append(.bootedTrial(target)) }
                    if let problem = health.check(device: device, group: target) {
                        try rollBack(journal, from: target, reason: "health check failed: \(problem)")
                        outcome.actions.append(.rolledBack)
                        outcome.detail = problem
                        outcome.rebootRequested = true
                        return outcome
                    }
                    try device.boot.commit(target)
                    try journal.append(.committed(target))
                    outcome.actions.append(.committed)
                    return outcome
                }
                let reason =
                    "the trial boot of group \(target.rawValue) did not come up; "
                    + "the bootloader fell back to \(booted.rawValue)"
                try rollBack(journal, from: target, reason: reason)
                outcome.actions.append(.fellBack)
                outcome.detail = reason
            }
        }

        switch journal.state.primary {
        case nil:
            try device.boot.commit(booted)
            try journal.append(.committed(booted))
            outcome.actions.append(.adopted)
        case booted:
            if try device.boot.read().slots[booted] != .good { try device.boot.commit(booted) }
            outcome.actions.append(.confirmed)
        case let primary?:
            outcome.actions.append(.unexpectedGroup)
            outcome.detail =
                "running group \(booted.rawValue) but the primary is \(primary.rawValue); the bootloader could not "
                + "start the primary. Nothing was changed"
        }
        return outcome
    }

    /// The trial group is marked not bootable first, then the journal says so.
    func rollBack(_ journal: Journal, from group: SlotLetter, reason: String) throws {
        try device.boot.disable(group)
        try journal.append(.rolledBack(from: group, to: group.other, reason: reason))
    }
}

/// Directory slot classes are made current by an atomic symlink swap that follows the booted
/// group, so they flip with the boot slots, and fall back with them too.
public struct DirectorySlots {
    public let device: Device

    public init(device: Device) { self.device = device }

    public func pointCurrent(at group: SlotLetter) throws {
        let storage = device.storage
        for slotClass in device.config.slotClasses where slotClass.type == .directory {
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
