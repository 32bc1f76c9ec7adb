import CSystemd
import Synchronization
import TwinslotCore

#if canImport(Glibc)
    import Glibc
#endif

/// `twinslot service`: io.twinslot.Installer1 at /io/twinslot/Installer1 and RAUC's
/// de.pengutronix.rauc.Installer at /, over one implementation. One thread owns the bus and
/// answers every call at once; installs and anything that reads a bundle or takes the install
/// lock run on worker threads whose results the loop sends, so a slow URL, a pre-install hook
/// or a client that stops reading never stalls the bus or another client.
public final class Service {
    public struct Options: Sendable {
        public var busAddress: String?
        /// Also own RAUC's well-known name, for scripts that call `de.pengutronix.rauc`.
        public var raucName: Bool
        public init(busAddress: String?, raucName: Bool) {
            self.busAddress = busAddress
            self.raucName = raucName
        }
    }

    public static let busName = "io.twinslot.Installer1"
    public static let objectPath = "/io/twinslot/Installer1"
    public static let raucBusName = "de.pengutronix.rauc"
    public static let raucObjectPath = "/"

    let bus: Bus
    let device: Device
    let state = OperationState()
    /// Calls whose reply a worker is computing, by token; only the bus thread touches it.
    private var pendingCalls: [UInt64: Message] = [:]
    private var nextToken: UInt64 = 0
    /// What the device says (booted, primary, version), re-read after every operation.
    private(set) var facts = DeviceFacts()
    /// The property values last announced with PropertiesChanged, per interface.
    private var announced: [String: [String: BusValue]] = [:]
    private static let stopRequested = Atomic<Bool>(false)

    struct DeviceFacts {
        var booted = ""
        var primary = ""
        var version = ""
        /// Slot class names, to build RAUC's `rootfs.0`-style slot names.
        var slotClasses: [String] = []
    }

    init(device: Device, options: Options) throws {
        self.device = device
        bus = try Bus(address: options.busAddress)
        refreshFacts()
        let context = Unmanaged.passUnretained(self).toOpaque()
        try bus.addObject(path: Self.objectPath, context: context, handler: Self.dispatch)
        try bus.addObject(path: Self.raucObjectPath, context: context, handler: Self.dispatch)
        // RAUC's first: once io.twinslot.Installer1 has an owner (what systemd's Type=dbus
        // waits for), every name the service answers on is owned.
        if options.raucName { try bus.requestName(Self.raucBusName) }
        try bus.requestName(Self.busName)
        for interface in [InterfaceSpec.installer.name, InterfaceSpec.rauc.name] {
            announced[interface] = properties(of: interface)
        }
    }

    /// Serves until SIGTERM or SIGINT. A stop during an install leaves the install to the
    /// journal: the next `twinslot boot` or install recovers it (docs/crash-safety.md).
    public static func run(device: Device, options: Options) throws {
        let service = try Service(device: device, options: options)
        signal(SIGTERM) { _ in Service.stopRequested.store(true, ordering: .relaxed) }
        signal(SIGINT) { _ in Service.stopRequested.store(true, ordering: .relaxed) }
        signal(SIGPIPE, SIG_IGN)
        // A parent may have started us with these blocked (the mask is inherited): unblock them,
        // or `systemctl stop` would wait for its timeout and SIGKILL.
        var stopSignals = sigset_t()
        sigemptyset(&stopSignals)
        sigaddset(&stopSignals, SIGTERM)
        sigaddset(&stopSignals, SIGINT)
        pthread_sigmask(SIG_UNBLOCK, &stopSignals, nil)
        while !stopRequested.load(ordering: .relaxed) {
            try service.bus.processAndWait(wake: service.state.wake.read, maxWait: 500_000)
            try service.handleEvents()
        }
    }

    // MARK: dispatch

    private static let dispatch: sd_bus_message_handler_t = { message, userdata, _ in
        guard let message, let userdata else { return 0 }
        let service = Unmanaged<Service>.fromOpaque(userdata).takeUnretainedValue()
        var type: UInt8 = 0
        sd_bus_message_get_type(message, &type)
        guard type == UInt8(SD_BUS_MESSAGE_METHOD_CALL) else { return 0 }
        return service.handle(Message(retaining: message)) ? 1 : 0
    }

    /// Answers one method call; false leaves it to sd-bus (which answers UnknownMethod).
    private func handle(_ call: Message) -> Bool {
        let spec = call.path == Self.objectPath ? InterfaceSpec.installer : InterfaceSpec.rauc
        let children = call.path == Self.raucObjectPath ? ["io"] : []
        switch (call.interface, call.member) {
        case ("org.freedesktop.DBus.Introspectable", "Introspect"):
            respond(call) { [.string(InterfaceSpec.document(spec, children: children))] }
        case ("org.freedesktop.DBus.Properties", "Get"):
            respond(call) { () throws(ServiceError) in
                let (interface, name) = try readStrings(call)
                guard let value = properties(of: interface)[name], interface == spec.name else {
                    throw ServiceError.usage("no property \(interface).\(name) at \(call.path)")
                }
                return [.variant(value)]
            }
        case ("org.freedesktop.DBus.Properties", "GetAll"):
            respond(call) { () throws(ServiceError) in
                let interface = try readStrings(call).0
                let values = interface == spec.name || interface.isEmpty ? properties(of: spec.name) : [:]
                return [
                    .dictionary(
                        spec.properties.compactMap { property in values[property.name].map { (property.name, $0) } })
                ]
            }
        case ("org.freedesktop.DBus.Properties", "Set"):
            respond(call) { () throws(ServiceError) in throw ServiceError.usage("every property is read-only") }
        case (spec.name, let member) where spec.method(member) != nil:
            let method = spec.method(member)!
            guard call.signature == method.inputSignature else {
                try? bus.replyError(
                    to: call, name: "org.freedesktop.DBus.Error.InvalidArgs",
                    text: "\(member) takes (\(method.inputSignature)), not (\(call.signature))")
                return true
            }
            if spec.name == InterfaceSpec.installer.name { handleInstaller(call) } else { handleRauc(call) }
        default:
            return false
        }
        return true
    }

    private func readStrings(_ call: Message) throws(ServiceError) -> (String, String) {
        do {
            let first = try call.readString()
            let second = call.signature.count > 1 ? try call.readString() : ""
            return (first, second)
        } catch {
            throw ServiceError.usage(error.description)
        }
    }

    /// Replies now with what `body` returns, or with its error.
    func respond(_ call: Message, _ body: () throws(ServiceError) -> [BusValue]) {
        do {
            let values = try body()
            let reply = try bus.newReply(to: call)
            try reply.append(values)
            try bus.send(reply)
        } catch let error as ServiceError {
            try? bus.replyError(to: call, name: error.busName, text: error.message)
        } catch {
            try? bus.replyError(to: call, name: "org.freedesktop.DBus.Error.Failed", text: "\(error)")
        }
    }

    static let maxDeferredCalls = 8

    /// Replies later: `work` runs on its own thread, the bus thread sends its result.
    func deferred(_ call: Message, _ work: @escaping @Sendable () throws -> [BusValue]) {
        // Each deferred call is a thread; ordinary users may make them (Inspect, GetSlotStatus),
        // so their number is bounded rather than left to the callers.
        guard pendingCalls.count < Self.maxDeferredCalls else {
            try? bus.replyError(
                to: call, name: ServiceError.busName(.busy),
                text: "\(pendingCalls.count) calls are in progress: try again when one has answered")
            return
        }
        nextToken += 1
        let token = nextToken
        pendingCalls[token] = call
        let state = self.state
        startThread(name: "bus-\(call.member)") {
            let result: Swift.Result<[BusValue], ServiceError>
            do { result = .success(try work()) } catch { result = .failure(ServiceError(error)) }
            state.replyReady(token: token, result: result)
        }
    }

    // MARK: events from workers

    private func handleEvents() throws {
        for event in state.drain() {
            switch event {
            case .reply(let token):
                guard let call = pendingCalls.removeValue(forKey: token),
                    let result = state.takeReply(token: token)
                else { continue }
                refreshFacts()
                respond(call) { () throws(ServiceError) in try result.get() }
            case .progress(let progress, let phase):
                try emit(
                    Self.objectPath, InterfaceSpec.installer.name, "Progress",
                    [.int32(progress.percent), .string(phase), .uint64(progress.bytes), .uint64(progress.total)])
                try announce(InterfaceSpec.installer.name, force: ["Progress"])
                try announce(InterfaceSpec.rauc.name, force: ["Progress"])
            case .completed(let result):
                refreshFacts()
                try emit(
                    Self.objectPath, InterfaceSpec.installer.name, "Completed",
                    [.int32(result.exitCode), .string(result.message), .string(result.operationID)])
                try emit(Self.raucObjectPath, InterfaceSpec.rauc.name, "Completed", [.int32(result.exitCode)])
            }
        }
        try announce(InterfaceSpec.installer.name)
        try announce(InterfaceSpec.rauc.name)
    }

    func emit(_ path: String, _ interface: String, _ member: String, _ values: [BusValue]) throws {
        let signal = try bus.newSignal(path: path, interface: interface, member: member)
        try signal.append(values)
        try bus.send(signal)
    }

    /// PropertiesChanged for what changed since the last announcement (Progress only with its
    /// rate-limited signal, never once per block written).
    func announce(_ interface: String, force: Set<String> = []) throws {
        let now = properties(of: interface)
        let before = announced[interface] ?? [:]
        let spec = interface == InterfaceSpec.installer.name ? InterfaceSpec.installer : InterfaceSpec.rauc
        let changed = spec.properties.map(\.name).filter { name in
            now[name] != before[name] && (name != "Progress" || force.contains(name))
        }
        guard !changed.isEmpty else { return }
        var updated = before
        for name in changed { updated[name] = now[name] }
        announced[interface] = updated
        let path = interface == InterfaceSpec.installer.name ? Self.objectPath : Self.raucObjectPath
        try emit(
            path, "org.freedesktop.DBus.Properties", "PropertiesChanged",
            [.string(interface), .dictionary(changed.map { ($0, now[$0]!) }), .array(element: "s", [])])
    }

    func refreshFacts() {
        guard let report = try? StatusReport.read(device: device) else { return }
        facts.booted = report.booted?.rawValue ?? ""
        facts.primary = report.primary?.rawValue ?? ""
        facts.version = report.groups.first { $0.group == report.booted }?.version ?? ""
        facts.slotClasses = device.config.slotClasses.map(\.name)
    }

    func properties(of interface: String) -> [String: BusValue] {
        let snapshot = state.snapshot
        let progress = snapshot.progress
        if interface == InterfaceSpec.rauc.name {
            return [
                "Operation": .string(snapshot.operation), "LastError": .string(snapshot.lastError),
                "Progress": .structure([.int32(progress.percent), .string(progress.message), .int32(1)]),
                "Compatible": .string(device.config.compatible), "Variant": .string(""),
                "BootSlot": .string(facts.booted),
            ]
        }
        guard interface == InterfaceSpec.installer.name else { return [:] }
        let last = snapshot.lastResult
        return [
            "Operation": .string(snapshot.operation), "Phase": .string(snapshot.phase),
            "Progress": .structure([
                .int32(progress.percent), .string(progress.message), .uint64(progress.bytes), .uint64(progress.total),
            ]),
            "LastError": .string(snapshot.lastError), "CurrentOperationID": .string(snapshot.operationID),
            "LastResult": .structure([
                .int32(last?.exitCode ?? 0), .string(last?.message ?? ""), .string(last?.operationID ?? ""),
            ]),
            "BootSlot": .string(facts.booted), "Primary": .string(facts.primary),
            "Compatible": .string(device.config.compatible), "Version": .string(facts.version),
        ]
    }
}
