import TwinslotCore

/// de.pengutronix.rauc.Installer over the same implementation: a script written for RAUC's
/// D-Bus API runs unchanged (docs/operations.md, "Integrating through D-Bus", maps each
/// member). Slots are named RAUC's way, `<class>.<index>` with group A as index 0.
extension Service {
    func handleRauc(_ call: Message) {
        let device = self.device
        let classes = facts.slotClasses
        switch call.member {
        case "InstallBundle", "Install":
            respond(call) { () throws(ServiceError) in
                let (source, options) = try readSourceAndOptions(call)
                _ = try InstallOperation(device: device, state: state).start(
                    source: source, options: InstallOperation.Options(options), caller: call.sender)
                return []
            }
        case "Info":
            guard let source = readArgument(call) else { return }
            let caller = call.caller
            deferred(call) {
                let manifest = try Records.inspect(source: source, caller: caller, device: device).1
                return [.string(manifest.compatible), .string(manifest.version)]
            }
        case "InspectBundle":
            guard let source = try? readSourceAndOptions(call).0 else {
                try? bus.replyError(to: call, name: "org.freedesktop.DBus.Error.InvalidArgs", text: "(sa{sv})")
                return
            }
            let caller = call.caller
            deferred(call) { [try Self.raucInspect(source: source, caller: caller, device: device)] }
        case "Mark":
            guard let (state, slot) = readTwo(call) else { return }
            deferred(call) {
                let (group, message) = try Self.mark(state: state, slot: slot, device: device)
                let index = group == SlotLetter.a.rawValue ? "0" : "1"
                return [.string("\(classes.first ?? "rootfs").\(index)"), .string(message)]
            }
        case "GetSlotStatus":
            deferred(call) { [try Self.raucSlotStatus(device: device)] }
        case "GetPrimary":
            respond(call) { () throws(ServiceError) in
                guard let primary = SlotLetter(rawValue: facts.primary) else {
                    throw ServiceError(.state, "no slot group is primary yet (nothing was committed)")
                }
                return [.string(Self.raucSlotName(classes.first ?? "rootfs", primary))]
            }
        default:
            try? bus.replyError(to: call, name: "org.freedesktop.DBus.Error.UnknownMethod", text: call.member)
        }
    }

    static func raucSlotName(_ slotClass: String, _ group: SlotLetter) -> String {
        "\(slotClass).\(group == .a ? 0 : 1)"
    }

    /// RAUC's InspectBundle keys (`manifest-hash`, `update`, `bundle`, `images`).
    static func raucInspect(source: String, caller: Result<Caller, BusFailure>, device: Device) throws -> BusValue {
        let (info, manifest) = try Records.inspect(source: source, caller: caller, device: device)
        var update: [(String, BusValue)] = [
            ("compatible", .string(manifest.compatible)), ("version", .string(manifest.version)),
        ]
        if let description = manifest.description { update.append(("description", .string(description))) }
        let images = manifest.images.map { image -> [(String, BusValue)] in
            [
                ("slot-class", .string(image.slotClass)), ("filename", .string(image.member)),
                ("checksum", .string(image.sha256)), ("size", .uint64(image.size)),
            ]
        }
        return .dictionary([
            ("manifest-hash", info["bundle_hash"] ?? .string("")), ("update", .dictionary(update)),
            ("bundle", .dictionary([("format", info["format"] ?? .string(""))])), ("images", .records(images)),
        ])
    }

    /// RAUC's `a(sa{sv})`: one entry per slot of both groups, with RAUC's key names.
    static func raucSlotStatus(device: Device) throws -> BusValue {
        let report = try StatusReport.read(device: device)
        var entries: [BusValue] = []
        for group in report.groups {
            for slot in group.slots {
                var record: [(String, BusValue)] = [
                    ("class", .string(slot.slotClass)), ("device", .string(slot.path)), ("type", .string(slot.type)),
                    ("bootname", .string(group.group.rawValue)),
                    ("state", .string(group.group == report.booted ? "booted" : "inactive")),
                    ("boot-status", .string(group.bootloader == "bad" ? "bad" : "good")),
                    ("status", .string(slot.status)),
                ]
                if let sha256 = slot.sha256 { record.append(("sha256", .string(sha256))) }
                if let size = slot.size { record.append(("size", .uint64(size))) }
                if let version = group.version { record.append(("bundle.version", .string(version))) }
                if group.group == report.primary { record.append(("primary", .bool(true))) }
                entries.append(
                    .structure([.string(raucSlotName(slot.slotClass, group.group)), .dictionary(record)]))
            }
        }
        return .array(element: "(sa{sv})", entries)
    }
}
