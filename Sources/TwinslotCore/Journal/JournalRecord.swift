#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// What an install starts with: enough to tell, after any crash, what was being installed where.
public struct BeginRecord: Codable, Sendable, Equatable {
    public var operationID: String
    public var bundleHash: String
    public var version: String
    public var compatible: String
    public var securityVersion: UInt64
    public var source: String
    public var target: SlotLetter
    public var slotClasses: [String]
    /// The kernel's boot id while the install ran (absent in journals written before 0.3): the
    /// boot service takes no decision about the trial in the boot that made it.
    public var bootID: String?

    public init(
        operationID: String, bundleHash: String, version: String, compatible: String, securityVersion: UInt64,
        source: String, target: SlotLetter, slotClasses: [String], bootID: String? = nil
    ) {
        self.operationID = operationID
        self.bundleHash = bundleHash
        self.version = version
        self.compatible = compatible
        self.securityVersion = securityVersion
        self.source = source
        self.target = target
        self.slotClasses = slotClasses
        self.bootID = bootID
    }
}

/// One step of the update story, appended and fsynced before the step it announces is relied on.
public enum JournalRecord: Codable, Sendable, Equatable {
    case begin(BeginRecord)
    /// The target group is durably not bootable: slot writes may start.
    case targetDisabled(SlotLetter)
    /// The member of the image for `slotClass` starts at byte `offset` of the bundle: an
    /// install interrupted after this can resume there (docs/fleet.md).
    case imageStarted(slotClass: String, offset: UInt64)
    /// One slot holds the image, read back and verified. `copiedFrom`: the slot was not in the
    /// bundle (a partial bundle) and was copied from that group, the running one, and verified
    /// against it; `sha256` and `size` are then the source slot's. Absent in journals written
    /// before partial bundles, where every STAGED image came from the bundle.
    case staged(slotClass: String, group: SlotLetter, sha256: String, size: UInt64, copiedFrom: SlotLetter? = nil)
    /// The target group is durably the one-shot trial boot.
    case flipped(SlotLetter)
    /// The trial group came up and the boot service runs in it, in the boot `bootID` (one
    /// record per boot, however often the service runs in it).
    case bootedTrial(SlotLetter, bootID: String? = nil)
    /// The group is the primary: the bootloader and the journal agree.
    case committed(SlotLetter)
    case rolledBack(from: SlotLetter, to: SlotLetter, reason: String)
    /// The operation ended without switching; the target group is not bootable.
    case failed(reason: String, failureClass: String)

    /// The record type's name as docs/crash-safety.md spells it.
    public var kind: String {
        switch self {
        case .begin: "BEGIN"
        case .targetDisabled: "TARGET-DISABLED"
        case .imageStarted: "IMAGE-STARTED"
        case .staged: "STAGED"
        case .flipped: "FLIPPED"
        case .bootedTrial: "BOOTED-TRIAL"
        case .committed: "COMMITTED"
        case .rolledBack: "ROLLED-BACK"
        case .failed: "FAILED"
        }
    }
}

/// A record as stored: its sequence number and when it was written.
public struct JournalEntry: Codable, Sendable, Equatable {
    public var sequence: UInt64
    public var time: Date
    public var record: JournalRecord
}
