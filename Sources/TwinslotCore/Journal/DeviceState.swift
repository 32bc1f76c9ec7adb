#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The device's state, derived by replaying the journal: what each slot holds, which group is
/// the primary, the operation in progress and the last one finished. Never stored on its own
/// except as the compaction snapshot, so it can never disagree with the journal.
public struct DeviceState: Codable, Sendable, Equatable {
    public enum SlotStatus: String, Codable, Sendable {
        /// Nothing twinslot knows of (a factory image, or never written).
        case unknown
        /// Being written: not bootable, content partial.
        case staging
        /// Written, read back and verified; not yet offered to the bootloader.
        case staged
        /// Offered as the one-shot trial boot.
        case trial
        /// Committed.
        case good
        /// Failed, rolled back from, or abandoned: not bootable.
        case bad
    }

    public struct SlotRecord: Codable, Sendable, Equatable {
        public var status: SlotStatus
        public var sha256: String?
        public var size: UInt64?
        /// The group the slot's content was copied from (a class a partial bundle did not carry).
        public var copiedFrom: SlotLetter?
    }

    /// One slot group's content: the bundle it holds (or is receiving) and each slot.
    public struct GroupState: Codable, Sendable, Equatable {
        public var bundleHash: String?
        public var version: String?
        public var securityVersion: UInt64?
        public var slots: [String: SlotRecord] = [:]

        public init() {}
    }

    public enum Phase: String, Codable, Sendable, Comparable {
        case begun
        case targetDisabled = "target-disabled"
        case staging
        case flipped
        case bootedTrial = "booted-trial"

        private var rank: Int {
            switch self {
            case .begun: 0
            case .targetDisabled: 1
            case .staging: 2
            case .flipped: 3
            case .bootedTrial: 4
            }
        }

        public static func < (lhs: Phase, rhs: Phase) -> Bool { lhs.rank < rhs.rank }
    }

    /// An install that has begun and not reached COMMITTED, ROLLED-BACK or FAILED.
    public struct Operation: Codable, Sendable, Equatable {
        public var id: String
        public var bundleHash: String
        public var version: String
        public var securityVersion: UInt64
        public var source: String
        public var target: SlotLetter
        public var slotClasses: [String]
        public var staged: [String]
        public var phase: Phase
        public var started: Date
        /// When the trial was made durable in the bootloader (FLIPPED).
        public var flippedAt: Date?
        /// How many times the trial group came up without being committed (BOOTED-TRIAL).
        public var trialBoots: Int = 0
        /// The boot id the install ran in (BEGIN), and the boot id of the last trial boot.
        public var bootID: String?
        public var trialBootID: String?

        /// Every slot class of the bundle is staged.
        public var isFullyStaged: Bool { Set(staged) == Set(slotClasses) }
    }

    public struct FinishedOperation: Codable, Sendable, Equatable {
        public enum Outcome: String, Codable, Sendable {
            case committed
            case rolledBack = "rolled-back"
            case failed
        }
        public var id: String?
        public var version: String?
        public var target: SlotLetter?
        public var outcome: Outcome
        public var reason: String?
        public var started: Date?
        public var finished: Date
    }

    /// Where an install of `bundleHash` into `target` that did not finish can continue: the
    /// images staged before it (class → SHA-256) and the bundle offset of the next image.
    public struct ResumePoint: Codable, Sendable, Equatable {
        /// An image in its slot, read back and verified when it was STAGED.
        public struct StagedImage: Codable, Sendable, Equatable {
            public var sha256: String
            public var size: UInt64
        }
        public var bundleHash: String
        public var target: SlotLetter
        public var staged: [String: StagedImage]
        public var slotClass: String
        public var offset: UInt64
    }

    public struct Counters: Codable, Sendable, Equatable {
        public var installs: UInt64 = 0
        public var commits: UInt64 = 0
        public var rollbacks: UInt64 = 0
        public var failures: UInt64 = 0
    }

    public var groupA = GroupState()
    public var groupB = GroupState()
    /// The committed group; nil on a device twinslot has not updated yet.
    public var primary: SlotLetter?
    /// The highest security version ever committed: the anti-rollback floor. Never decreases.
    public var installedSecurityVersion: UInt64 = 0
    public var operation: Operation?
    public var last: FinishedOperation?
    /// Set by IMAGE-STARTED; kept when the install fails or is abandoned; cleared by the next
    /// BEGIN (which has read it) and by FLIPPED.
    public var resumePoint: ResumePoint?
    public var counters = Counters()
    public var lastSequence: UInt64 = 0

    public init() {}

    public func group(_ letter: SlotLetter) -> GroupState { letter == .a ? groupA : groupB }

    private mutating func updateGroup(_ letter: SlotLetter, _ change: (inout GroupState) -> Void) {
        if letter == .a { change(&groupA) } else { change(&groupB) }
    }

    private mutating func setStatus(_ letter: SlotLetter, _ status: SlotStatus) {
        updateGroup(letter) { group in
            for key in group.slots.keys { group.slots[key]?.status = status }
        }
    }

    private mutating func finish(_ outcome: FinishedOperation.Outcome, reason: String?, at time: Date) {
        last = FinishedOperation(
            id: operation?.id, version: operation?.version, target: operation?.target, outcome: outcome, reason: reason,
            started: operation?.started, finished: time)
        operation = nil
    }

    /// Applies one journal entry. Pure: the same entries always give the same state.
    public mutating func apply(_ entry: JournalEntry) {
        lastSequence = entry.sequence
        switch entry.record {
        case .begin(let begin):
            counters.installs += 1
            resumePoint = nil
            operation = Operation(
                id: begin.operationID, bundleHash: begin.bundleHash, version: begin.version,
                securityVersion: begin.securityVersion, source: begin.source, target: begin.target,
                slotClasses: begin.slotClasses, staged: [], phase: .begun, started: entry.time, flippedAt: nil,
                bootID: begin.bootID)
            updateGroup(begin.target) { group in
                group.bundleHash = begin.bundleHash
                group.version = begin.version
                group.securityVersion = begin.securityVersion
                group.slots = Dictionary(
                    uniqueKeysWithValues: begin.slotClasses.map { ($0, SlotRecord(status: .staging)) })
            }
            if primary == begin.target { primary = nil }
        case .targetDisabled:
            operation?.phase = .targetDisabled
        case .imageStarted(let slotClass, let offset):
            if let operation {
                var staged: [String: ResumePoint.StagedImage] = [:]
                for name in operation.staged {
                    if let record = group(operation.target).slots[name], let sha256 = record.sha256,
                        let size = record.size
                    {
                        staged[name] = .init(sha256: sha256, size: size)
                    }
                }
                resumePoint = ResumePoint(
                    bundleHash: operation.bundleHash, target: operation.target, staged: staged, slotClass: slotClass,
                    offset: offset)
            }
        case .staged(let slotClass, let group, let sha256, let size, let copiedFrom):
            operation?.phase = .staging
            operation?.staged.append(slotClass)
            updateGroup(group) {
                $0.slots[slotClass] = SlotRecord(status: .staged, sha256: sha256, size: size, copiedFrom: copiedFrom)
            }
        case .flipped(let group):
            resumePoint = nil
            operation?.phase = .flipped
            operation?.flippedAt = entry.time
            setStatus(group, .trial)
        case .bootedTrial(_, let bootID):
            operation?.phase = .bootedTrial
            if bootID == nil || bootID != operation?.trialBootID { operation?.trialBoots += 1 }
            operation?.trialBootID = bootID
        case .committed(let group):
            // Only the end of an update counts: the first boot's adoption of the running group
            // (a COMMITTED with no operation) installed nothing, and counting it would make a
            // fleet dashboard show a commit on every freshly flashed device.
            if operation?.target == group { counters.commits += 1 }
            setStatus(group, .good)
            primary = group
            installedSecurityVersion = max(installedSecurityVersion, self.group(group).securityVersion ?? 0)
            if operation?.target == group { finish(.committed, reason: nil, at: entry.time) }
        case .rolledBack(let from, let to, let reason):
            counters.rollbacks += 1
            setStatus(from, .bad)
            primary = to
            finish(.rolledBack, reason: reason, at: entry.time)
        case .failed(let reason, _):
            counters.failures += 1
            if let target = operation?.target { setStatus(target, .bad) }
            finish(.failed, reason: reason, at: entry.time)
        }
    }

    public static func replay(snapshot: DeviceState?, entries: [JournalEntry]) -> DeviceState {
        var state = snapshot ?? DeviceState()
        for entry in entries where entry.sequence > state.lastSequence { state.apply(entry) }
        return state
    }
}
