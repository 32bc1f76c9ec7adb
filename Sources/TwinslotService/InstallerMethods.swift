import TwinslotCore

/// io.twinslot.Installer1's methods. Install answers at once (with the operation id, or
/// Busy/Usage); the rest read a bundle or take the install lock, so they run as deferred
/// calls and never hold up the bus.
extension Service {
    func handleInstaller(_ call: Message) {
        let device = self.device
        switch call.member {
        case "Install":
            respond(call) { () throws(ServiceError) in
                let (source, options) = try readSourceAndOptions(call)
                let id = try InstallOperation(device: device, state: state).start(
                    source: source, options: InstallOperation.Options(options), caller: call.sender)
                return [.string(id)]
            }
        case "Inspect":
            guard let source = readArgument(call) else { return }
            let caller = call.caller
            deferred(call) { [try Records.inspect(source: source, caller: caller, device: device).0] }
        case "GetSlotStatus":
            deferred(call) { [try Records.status(device: device)] }
        case "Mark":
            guard let (state, slot) = readTwo(call) else { return }
            deferred(call) { [.string(try Self.mark(state: state, slot: slot, device: device).message)] }
        default:
            try? bus.replyError(to: call, name: "org.freedesktop.DBus.Error.UnknownMethod", text: call.member)
        }
    }

    func readSourceAndOptions(_ call: Message) throws(ServiceError) -> (String, [(String, BusValue)]) {
        do {
            let source = try call.readString()
            let options = call.signature.count > 1 ? try call.readDictionary() : []
            return (source, options)
        } catch {
            throw ServiceError.usage(error.description)
        }
    }

    /// The first string argument, or nil after replying InvalidArgs.
    func readArgument(_ call: Message) -> String? {
        do { return try call.readString() } catch {
            try? bus.replyError(to: call, name: "org.freedesktop.DBus.Error.InvalidArgs", text: error.description)
            return nil
        }
    }

    func readTwo(_ call: Message) -> (String, String)? {
        do { return (try call.readString(), try call.readString()) } catch {
            try? bus.replyError(to: call, name: "org.freedesktop.DBus.Error.InvalidArgs", text: error.description)
            return nil
        }
    }

    /// `mark-good` / `mark-bad`, with their semantics and messages. `active` is `good`:
    /// twinslot has one way to make a group the next boot's, committing it (Marker.markGood
    /// makes it primary). The slot is `booted`, `other`, a group letter, or a RAUC slot name
    /// (`rootfs.0` is group A, `rootfs.1` group B).
    static func mark(state: String, slot: String, device: Device) throws -> (group: String, message: String) {
        let booted = try device.bootedGroup()
        let which: Marker.Which
        let group: SlotLetter
        switch slot.lowercased() {
        case "booted", "":
            which = .booted
            group = booted
        case "other":
            which = .other
            group = booted.other
        default:
            guard let named = Self.group(named: slot, classes: device.config.slotClasses.map(\.name)) else {
                throw ServiceError.usage(
                    "unknown slot '\(slot)': give booted, other, A, B or a slot name such as "
                        + "\(device.config.slotClasses.first?.name ?? "rootfs").0")
            }
            which = named == booted ? .booted : .other
            group = named
        }
        let marker = Marker(device: device)
        switch state {
        case "good", "active": return (group.rawValue, try marker.markGood(which))
        case "bad": return (group.rawValue, try marker.markBad(which))
        default: throw ServiceError.usage("unknown mark state '\(state)': give good, bad or active")
        }
    }

    /// `A`/`B`, or RAUC's `<class>.<index>` with index 0 for A and 1 for B.
    static func group(named name: String, classes: [String]) -> SlotLetter? {
        if let letter = SlotLetter(rawValue: name.uppercased()) { return letter }
        guard let dot = name.lastIndex(of: "."), classes.contains(String(name[..<dot])) else { return nil }
        switch name[name.index(after: dot)...] {
        case "0": return .a
        case "1": return .b
        default: return nil
        }
    }
}
