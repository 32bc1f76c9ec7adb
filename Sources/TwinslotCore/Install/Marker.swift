#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// `mark-good` and `mark-bad` on the booted or the other group, for people and for health
/// logic outside twinslot. Each is a bootloader write followed by its journal record.
public struct Marker {
    public enum Which: String, Sendable, CaseIterable {
        case booted
        case other
    }

    public let device: Device

    public init(device: Device) { self.device = device }

    /// Returns a sentence saying what changed.
    public func markGood(_ which: Which) throws -> String {
        try locked(which) { journal, booted, group in try markGood(group, booted: booted, journal: journal) }
    }

    public func markBad(_ which: Which) throws -> String {
        try locked(which) { journal, booted, group in try markBad(group, booted: booted, journal: journal) }
    }

    /// Takes the lock, recovers the journal and names the groups for one mark.
    private func locked(_ which: Which, _ body: (Journal, SlotLetter, SlotLetter) throws -> String) throws -> String {
        let lock = try InstallLock(dataDirectory: device.config.dataDirectory)
        defer { withExtendedLifetime(lock) {} }
        let journal = Journal(storage: device.storage, directory: device.dataDirectory)
        try journal.recover()
        let booted = try device.bootedGroup()
        return try body(journal, booted, which == .booted ? booted : booted.other)
    }

    private func markGood(_ group: SlotLetter, booted: SlotLetter, journal: Journal) throws -> String {
        let state = journal.state
        if let operation = state.operation, operation.target == group {
            guard operation.phase >= .flipped, group == booted else {
                throw InstallError.nothingToMark(
                    "group \(group.rawValue) is being installed (\(operation.phase.rawValue)); it cannot be marked good "
                        + "before it has booted")
            }
            if operation.phase == .flipped { try journal.append(.bootedTrial(group)) }
        } else if state.primary != nil {
            let slots = state.group(group).slots.values
            guard group == state.primary || (!slots.isEmpty && slots.allSatisfy { $0.status == .good }) else {
                throw InstallError.nothingToMark(
                    "group \(group.rawValue) holds no committed bundle; only a complete, verified group can be marked good"
                )
            }
        }
        try device.boot.commit(group)
        try journal.append(.committed(group))
        try device.mirrorSecurityFloor(journal.state)
        return "group \(group.rawValue) is committed and primary"
    }

    private func markBad(_ group: SlotLetter, booted: SlotLetter, journal: Journal) throws -> String {
        let fallback = group.other
        let state = journal.state
        if group == booted {
            // The fallback must be committed in the journal or, on a device twinslot adopted
            // with factory content, still good in the bootloader (never disabled since).
            let fallbackBootable = try device.boot.read().slots[fallback] == .good
            let fallbackUsable =
                state.operation?.target == booted || state.primary == fallback
                || (!state.group(fallback).slots.isEmpty
                    && state.group(fallback).slots.values.allSatisfy { $0.status == .good })
                || (state.group(fallback).slots.isEmpty && fallbackBootable)
            guard fallbackUsable else {
                throw InstallError.nothingToMark(
                    "group \(fallback.rawValue) holds no committed bundle to fall back to; refusing to make the "
                        + "device unbootable")
            }
        }
        // The fallback is made bootable before the booted group stops being so: at no instant
        // has the device no bootable group.
        if group == booted { try device.boot.commit(fallback) }
        try device.boot.disable(group)
        if state.operation?.target == group && (state.operation?.phase ?? .begun) < .flipped {
            try journal.append(
                .failed(reason: "marked bad while installing", failureClass: FailureClass.state.rawValue))
        } else {
            try journal.append(.rolledBack(from: group, to: fallback, reason: "marked bad by the operator"))
        }
        if group == booted {
            return "group \(group.rawValue) is marked bad; reboot to return to group \(fallback.rawValue)"
        }
        return "group \(group.rawValue) is marked bad"
    }
}
