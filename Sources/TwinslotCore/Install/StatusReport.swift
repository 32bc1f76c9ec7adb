import SystemPackage

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Everything `twinslot status` tells, read without writing anything: the journal's state,
/// the bootloader's view, and which group is running.
public struct StatusReport: Sendable, Codable {
    public struct SlotView: Sendable, Codable {
        public var slotClass: String
        public var type: String
        public var path: String
        public var status: String
        public var sha256: String?
        public var size: UInt64?
        /// The group this slot's content was copied from by a partial bundle's install.
        public var copiedFrom: SlotLetter?
    }

    public struct GroupView: Sendable, Codable {
        public var group: SlotLetter
        public var role: String
        public var bootloader: String
        public var version: String?
        public var securityVersion: UInt64?
        public var bundleHash: String?
        public var slots: [SlotView]
    }

    public var compatible: String
    public var booted: SlotLetter?
    public var bootedError: String?
    public var primary: SlotLetter?
    public var nextBoot: SlotLetter?
    public var bootloader: String
    public var installedSecurityVersion: UInt64
    public var groups: [GroupView]
    public var operation: DeviceState.Operation?
    public var last: DeviceState.FinishedOperation?
    public var counters: DeviceState.Counters
    public var recovery: RecoveryReport

    public static func read(device: Device) throws -> StatusReport {
        let (state, recovery) = try Journal.readState(storage: device.storage, directory: device.dataDirectory)
        var booted: SlotLetter?
        var bootedError: String?
        do { booted = try device.bootedGroup() } catch { bootedError = String(describing: error) }
        let bootState = try device.boot.read()
        let groups = SlotLetter.allCases.map { letter -> GroupView in
            let group = state.group(letter)
            var roles: [String] = []
            if letter == booted { roles.append("booted") }
            if letter == state.primary { roles.append("primary") }
            if state.operation?.target == letter { roles.append("target") }
            let slots = device.config.slotClasses.map { slotClass -> SlotView in
                let record = group.slots[slotClass.name]
                return SlotView(
                    slotClass: slotClass.name, type: slotClass.type.rawValue, path: slotClass.path(for: letter),
                    status: record?.status.rawValue ?? DeviceState.SlotStatus.unknown.rawValue, sha256: record?.sha256,
                    size: record?.size, copiedFrom: record?.copiedFrom)
            }
            return GroupView(
                group: letter, role: roles.isEmpty ? "-" : roles.joined(separator: ","),
                bootloader: Self.describe(bootState.slots[letter] ?? .bad), version: group.version,
                securityVersion: group.securityVersion, bundleHash: group.bundleHash, slots: slots)
        }
        return StatusReport(
            compatible: device.config.compatible, booted: booted, bootedError: bootedError, primary: state.primary,
            nextBoot: bootState.nextBoot, bootloader: device.boot.name,
            installedSecurityVersion: device.securityFloor(state), groups: groups, operation: state.operation,
            last: state.last, counters: state.counters, recovery: recovery)
    }

    static func describe(_ state: BootSlotState) -> String {
        switch state {
        case .good: "good"
        case .bad: "bad"
        case .trial(attempted: false): "trial"
        case .trial(attempted: true): "tried"
        }
    }
}
