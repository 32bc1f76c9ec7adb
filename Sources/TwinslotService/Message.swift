import CSystemd
import TwinslotCore

#if canImport(Glibc)
    import Glibc
#endif

/// A failed sd-bus call: the negative errno sd-bus returned and what the service was doing,
/// as a value (in the spirit of swift-system's `Errno`), never a crash.
public struct BusFailure: ClassifiedError, Equatable {
    public var operation: String
    public var errno: Int32
    /// A bus that cannot be reached or went away is the `io` class (exit 14), like a device
    /// that cannot be read; never "a bug".
    public var failureClass: FailureClass { errno == EEXIST ? .busy : .io }

    init(_ operation: String, _ result: Int32) {
        self.operation = operation
        self.errno = -result
    }

    public var description: String { "\(operation): \(String(cString: strerror(errno)))" }

    /// Throws for a negative sd-bus result; returns the result otherwise.
    @discardableResult
    static func check(_ result: Int32, _ operation: @autoclosure () -> String) throws(BusFailure) -> Int32 {
        if result < 0 { throw BusFailure(operation(), result) }
        return result
    }
}

/// One reference to an `sd_bus_message`: the only owner of that reference, released when the
/// wrapper goes. sd-bus objects belong to the bus thread, so a Message never leaves it.
final class Message {
    let pointer: OpaquePointer

    /// Takes over a reference the caller already holds (a message sd-bus created for us).
    init(adopting pointer: OpaquePointer) { self.pointer = pointer }

    /// Adds a reference to a message sd-bus lends us (a method call in a callback), so that
    /// a reply can be sent after the callback returned.
    init(retaining pointer: OpaquePointer) {
        self.pointer = pointer
        sd_bus_message_ref(pointer)
    }

    deinit { sd_bus_message_unref(pointer) }

    var member: String { sd_bus_message_get_member(pointer).map { String(cString: $0) } ?? "" }
    var interface: String { sd_bus_message_get_interface(pointer).map { String(cString: $0) } ?? "" }
    var path: String { sd_bus_message_get_path(pointer).map { String(cString: $0) } ?? "" }
    var sender: String { sd_bus_message_get_sender(pointer).map { String(cString: $0) } ?? "" }
    var signature: String { sd_bus_message_get_signature(pointer, 1).map { String(cString: $0) } ?? "" }

    /// Who sent this call, as the bus daemon vouches for it (not what the message claims):
    /// nil when the bus cannot tell, which callers treat as the least privileged.
    var caller: Result<Caller, BusFailure> {
        var creds: OpaquePointer?
        // dbus-daemon vouches for the uid it took from the socket (SO_PEERCRED); nothing else
        // is asked of /proc, which a caller's exit and a reused pid would make racy.
        // (sd-bus files it as the effective uid: SO_PEERCRED's is the one the kernel checks).
        let asked = sd_bus_query_sender_creds(pointer, UInt64(SD_BUS_CREDS_EUID), &creds)
        guard asked >= 0, let creds else { return .failure(BusFailure("ask the bus who is calling", asked)) }
        defer { sd_bus_creds_unref(creds) }
        var uid: uid_t = 0
        let read = sd_bus_creds_get_euid(creds, &uid)
        guard read >= 0 else { return .failure(BusFailure("read the caller's uid", read)) }
        return .success(Caller(uid: uid, gid: Caller.primaryGroup(of: uid)))
    }

    // MARK: writing

    func append(_ values: [BusValue]) throws(BusFailure) {
        for value in values { try append(value) }
    }

    func append(_ value: BusValue) throws(BusFailure) {
        let m = pointer
        switch value {
        case .string(let text), .objectPath(let text):
            let type = value.signature.utf8.first!
            let result = text.withCString { sd_bus_message_append_basic(m, CChar(type), $0) }
            try BusFailure.check(result, "append a string")
        case .bool(let flag):
            var raw: Int32 = flag ? 1 : 0
            try BusFailure.check(sd_bus_message_append_basic(m, CChar(UInt8(ascii: "b")), &raw), "append a boolean")
        case .int32(var raw): try appendBasic("i", &raw)
        case .uint32(var raw): try appendBasic("u", &raw)
        case .int64(var raw): try appendBasic("x", &raw)
        case .uint64(var raw): try appendBasic("t", &raw)
        case .double(var raw): try appendBasic("d", &raw)
        case .array(let element, let items):
            try container("a", element) { () throws(BusFailure) in for item in items { try append(item) } }
        case .dictionary(let entries):
            try container("a", "{sv}") { () throws(BusFailure) in
                for (key, item) in entries {
                    try container("e", "sv") { () throws(BusFailure) in
                        try append(.string(key))
                        try append(item.asVariant)
                    }
                }
            }
        case .structure(let members):
            let inner = String(value.signature.dropFirst().dropLast())
            try container("r", inner) { () throws(BusFailure) in for member in members { try append(member) } }
        case .variant(let inner):
            try container("v", inner.signature) { () throws(BusFailure) in try append(inner) }
        }
    }

    private func appendBasic<T>(_ type: Unicode.Scalar, _ raw: inout T) throws(BusFailure) {
        try BusFailure.check(sd_bus_message_append_basic(pointer, CChar(UInt8(ascii: type)), &raw), "append \(type)")
    }

    private func container(_ type: Unicode.Scalar, _ contents: String, _ body: () throws(BusFailure) -> Void)
        throws(BusFailure)
    {
        try BusFailure.check(
            sd_bus_message_open_container(pointer, CChar(UInt8(ascii: type)), contents), "open \(type)\(contents)")
        try body()
        try BusFailure.check(sd_bus_message_close_container(pointer), "close \(type)\(contents)")
    }

    // MARK: reading

    /// Reads the next argument, which must be a string.
    func readString() throws(BusFailure) -> String {
        var text: UnsafePointer<CChar>?
        try BusFailure.check(sd_bus_message_read_basic(pointer, CChar(UInt8(ascii: "s")), &text), "read a string")
        return text.map { String(cString: $0) } ?? ""
    }

    /// Reads an `a{sv}` argument; a value of a type the service does not take is refused.
    func readDictionary() throws(BusFailure) -> [(String, BusValue)] {
        var entries: [(String, BusValue)] = []
        try BusFailure.check(
            sd_bus_message_enter_container(pointer, CChar(UInt8(ascii: "a")), "{sv}"), "read a{sv}")
        while try BusFailure.check(
            sd_bus_message_enter_container(pointer, CChar(UInt8(ascii: "e")), "sv"), "read an a{sv} entry") > 0
        {
            let key = try readString()
            var type: CChar = 0
            var contents: UnsafePointer<CChar>?
            try BusFailure.check(sd_bus_message_peek_type(pointer, &type, &contents), "peek a variant")
            let inner = contents.map { String(cString: $0) } ?? ""
            try BusFailure.check(
                sd_bus_message_enter_container(pointer, CChar(UInt8(ascii: "v")), inner), "enter a variant")
            entries.append((key, try readBasic(inner)))
            try BusFailure.check(sd_bus_message_exit_container(pointer), "leave a variant")
            try BusFailure.check(sd_bus_message_exit_container(pointer), "leave an a{sv} entry")
        }
        try BusFailure.check(sd_bus_message_exit_container(pointer), "leave a{sv}")
        return entries
    }

    private func readBasic(_ type: String) throws(BusFailure) -> BusValue {
        func raw<T>(_ initial: T) throws(BusFailure) -> T {
            var value = initial
            try BusFailure.check(
                sd_bus_message_read_basic(pointer, CChar(type.utf8.first!), &value), "read a \(type)")
            return value
        }
        switch type {
        case "s": return .string(try readString())
        case "b": return .bool(try raw(Int32(0)) != 0)
        case "i": return .int32(try raw(Int32(0)))
        case "u": return .uint32(try raw(UInt32(0)))
        case "x": return .int64(try raw(Int64(0)))
        case "t": return .uint64(try raw(UInt64(0)))
        default:
            try BusFailure.check(sd_bus_message_skip(pointer, type), "skip a \(type)")
            return .string("<unsupported type \(type)>")
        }
    }
}

extension BusValue {
    var asVariant: BusValue {
        if case .variant = self { return self }
        return .variant(self)
    }
}
