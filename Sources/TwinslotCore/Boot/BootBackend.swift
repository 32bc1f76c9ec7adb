/// What the bootloader knows about one slot group.
public enum BootSlotState: Sendable, Equatable, Codable {
    /// Bootable and committed.
    case good
    /// Not bootable: the bootloader will never choose it.
    case bad
    /// Offered once: `attempted` is true once the bootloader has started it (the try is used up).
    case trial(attempted: Bool)
}

/// The bootloader's view: the order in which it tries the groups and each group's state.
public struct BootState: Sendable, Equatable, Codable {
    public var order: [SlotLetter]
    public var slots: [SlotLetter: BootSlotState]
    /// The group the bootloader starts when no group is good or an unattempted trial, if it has
    /// such a last resort: U-Boot's script boots the first committed group of BOOT_ORDER again
    /// once every count is used up (power cuts before `twinslot boot` confirmed it).
    public var lastResort: SlotLetter?

    public init(order: [SlotLetter], slots: [SlotLetter: BootSlotState], lastResort: SlotLetter? = nil) {
        self.order = order
        self.slots = slots
        self.lastResort = lastResort
    }

    /// The group the bootloader will start next, if any: the first in order that is good or an
    /// unattempted trial.
    public var nextBoot: SlotLetter? {
        order.first { letter in
            switch slots[letter] ?? .bad {
            case .good, .trial(attempted: false): true
            default: false
            }
        } ?? lastResort
    }

    /// The group the device falls back to: the first good one in order.
    public var primary: SlotLetter? { order.first { slots[$0] == .good } }
}

/// One bootloader backend. Every mutating call is durable when it returns and is written the way
/// the bootloader itself survives a power cut in the middle of it.
public protocol BootBackend: Sendable {
    /// A short name for status and reports ("grub", "uboot", "script", "sim").
    var name: String { get }
    func read() throws -> BootState
    /// The group is never chosen again until `setTrial` or `commit` (done before a payload byte
    /// is written to it).
    func disable(_ group: SlotLetter) throws
    /// The group is tried first, once; if it does not get committed the bootloader falls back
    /// to the other good group on the next boot.
    func setTrial(_ group: SlotLetter) throws
    /// The group becomes the primary, good, with the full number of attempts.
    func commit(_ group: SlotLetter) throws
    /// The committed group came up again: give it back the full number of attempts (GRUB's
    /// X_TRY=0, U-Boot's BOOT_X_LEFT=attempts), writing only when something changes.
    func confirm(_ group: SlotLetter) throws
    /// Writes a whole new environment: `primary` committed, the other group not bootable.
    /// Factory provisioning (`twinslot bootloader init`) and the repair of a missing or damaged
    /// environment use it; it never reads what was there.
    func provision(primary: SlotLetter) throws
    /// The anti-rollback floor mirrored in the bootloader environment (0 when none is kept):
    /// an attacker who can only rewrite or roll back the data partition cannot lower it.
    func securityFloor() throws -> UInt64
    /// Raises the mirrored floor to `floor`; never lowers it.
    func raiseSecurityFloor(to floor: UInt64) throws
}

/// The variable both environments keep the floor in.
public let securityFloorVariable = "TWINSLOT_FLOOR"

extension BootBackend {
    public func securityFloor() throws -> UInt64 { 0 }
    public func raiseSecurityFloor(to floor: UInt64) throws {}

    public func confirm(_ group: SlotLetter) throws {
        if try read().slots[group] != .good { try commit(group) }
    }

    public func provision(primary: SlotLetter) throws {
        try commit(primary)
        try disable(primary.other)
    }
}
