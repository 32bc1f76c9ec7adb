import CSystemd

#if canImport(Glibc)
    import Glibc
#endif

/// The service's connection: the one owner of its `sd_bus*` and of the object slots, all
/// released in `deinit` (slots first, then the bus is flushed, closed and unreferenced), so a
/// stopped service leaves nothing behind and sends every queued reply. sd-bus is not
/// thread-safe: a Bus is used only by the thread that runs its loop.
final class Bus {
    let pointer: OpaquePointer
    private var slots: [OpaquePointer] = []

    /// The system bus (sd-bus honours `DBUS_SYSTEM_BUS_ADDRESS`), or the bus at `address`
    /// (a private `dbus-daemon` in tests, `unix:path=…`).
    init(address: String?) throws(BusFailure) {
        var bus: OpaquePointer?
        if let address {
            try BusFailure.check(sd_bus_new(&bus), "create a bus connection")
            do {
                try BusFailure.check(sd_bus_set_address(bus, address), "set the bus address \(address)")
                try BusFailure.check(sd_bus_set_bus_client(bus, 1), "make the connection a bus client")
                try BusFailure.check(sd_bus_start(bus), "connect to \(address)")
            } catch {
                sd_bus_unref(bus)
                throw error
            }
        } else {
            try BusFailure.check(sd_bus_open_system(&bus), "connect to the system bus")
        }
        pointer = bus!
    }

    deinit {
        for slot in slots { sd_bus_slot_unref(slot) }
        sd_bus_flush_close_unref(pointer)
    }

    /// Owns a well-known name; refused (EEXIST, the busy class) while another connection owns
    /// it: a second `twinslot service` stops at once instead of queueing for the name.
    func requestName(_ name: String) throws(BusFailure) {
        let result = sd_bus_request_name(pointer, name, 0)
        if result == -EEXIST {
            throw BusFailure("another connection (a running twinslot service?) owns the bus name \(name)", result)
        }
        try BusFailure.check(result, "own the bus name \(name)")
    }

    var uniqueName: String {
        var name: UnsafePointer<CChar>?
        guard sd_bus_get_unique_name(pointer, &name) >= 0, let name else { return "" }
        return String(cString: name)
    }

    /// Routes every message for `path` to `handler` (return true: handled). The handler
    /// context is kept alive by `context`, whose lifetime the caller owns.
    func addObject(path: String, context: UnsafeMutableRawPointer, handler: sd_bus_message_handler_t)
        throws(BusFailure)
    {
        var slot: OpaquePointer?
        try BusFailure.check(sd_bus_add_object(pointer, &slot, path, handler, context), "export \(path)")
        slots.append(slot!)
    }

    func send(_ message: Message) throws(BusFailure) {
        try BusFailure.check(sd_bus_send(pointer, message.pointer, nil), "send \(message.member)")
    }

    func newSignal(path: String, interface: String, member: String) throws(BusFailure) -> Message {
        var message: OpaquePointer?
        try BusFailure.check(
            sd_bus_message_new_signal(pointer, &message, path, interface, member), "create the signal \(member)")
        return Message(adopting: message!)
    }

    func newReply(to call: Message) throws(BusFailure) -> Message {
        var message: OpaquePointer?
        try BusFailure.check(sd_bus_message_new_method_return(call.pointer, &message), "reply to \(call.member)")
        return Message(adopting: message!)
    }

    /// Sends a D-Bus error reply named `name` with `text` (what the CLI would print).
    func replyError(to call: Message, name: String, text: String) throws(BusFailure) {
        var error = sd_bus_error()
        defer { sd_bus_error_free(&error) }
        sd_bus_error_set(&error, name, text)
        try BusFailure.check(sd_bus_reply_method_error(call.pointer, &error), "reply with \(name)")
    }

    /// Dispatches what is queued, then sleeps until the bus or `wake` has something or
    /// `maxWait` microseconds passed: the worker threads never touch the bus, they write a
    /// byte to `wake` and the loop sends their signals and replies.
    func processAndWait(wake: Int32, maxWait: UInt64) throws(BusFailure) {
        while try BusFailure.check(sd_bus_process(pointer, nil), "process bus messages") > 0 {}
        let events = try BusFailure.check(sd_bus_get_events(pointer), "ask sd-bus what to wait for")
        var timeout: UInt64 = 0
        try BusFailure.check(sd_bus_get_timeout(pointer, &timeout), "ask sd-bus for its timeout")
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        let nowMicros = UInt64(now.tv_sec) * 1_000_000 + UInt64(now.tv_nsec) / 1000
        let waitMicros = timeout == UInt64.max ? maxWait : min(maxWait, timeout > nowMicros ? timeout - nowMicros : 0)
        var fds = [
            pollfd(fd: sd_bus_get_fd(pointer), events: Int16(events), revents: 0),
            pollfd(fd: wake, events: Int16(POLLIN), revents: 0),
        ]
        _ = poll(&fds, 2, Int32((waitMicros + 999) / 1000))
    }
}
