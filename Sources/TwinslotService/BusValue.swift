/// A D-Bus value as Swift sees it: what the service sends and what it reads from a call. Only
/// the types the two interfaces use; each knows its own signature, so a reply is built from
/// values alone and can never disagree with the signature it declares.
public indirect enum BusValue: Sendable, Equatable {
    case string(String)
    case objectPath(String)
    case bool(Bool)
    case int32(Int32)
    case uint32(UInt32)
    case int64(Int64)
    case uint64(UInt64)
    case double(Double)
    /// An array of elements of one signature (given, so an empty array still has a type).
    case array(element: String, [BusValue])
    /// `a{sv}`, the dictionary every D-Bus API uses for extensible records; order is kept.
    case dictionary([(String, BusValue)])
    case structure([BusValue])
    case variant(BusValue)

    public var signature: String {
        switch self {
        case .string: "s"
        case .objectPath: "o"
        case .bool: "b"
        case .int32: "i"
        case .uint32: "u"
        case .int64: "x"
        case .uint64: "t"
        case .double: "d"
        case .array(let element, _): "a" + element
        case .dictionary: "a{sv}"
        case .structure(let members): "(" + members.map(\.signature).joined() + ")"
        case .variant: "v"
        }
    }

    public static func == (lhs: BusValue, rhs: BusValue) -> Bool {
        switch (lhs, rhs) {
        case (.string(let a), .string(let b)), (.objectPath(let a), .objectPath(let b)): a == b
        case (.bool(let a), .bool(let b)): a == b
        case (.int32(let a), .int32(let b)): a == b
        case (.uint32(let a), .uint32(let b)): a == b
        case (.int64(let a), .int64(let b)): a == b
        case (.uint64(let a), .uint64(let b)): a == b
        case (.double(let a), .double(let b)): a == b
        case (.array(let x, let a), .array(let y, let b)): x == y && a == b
        case (.dictionary(let a), .dictionary(let b)): a.map(\.0) == b.map(\.0) && a.map(\.1) == b.map(\.1)
        case (.structure(let a), .structure(let b)): a == b
        case (.variant(let a), .variant(let b)): a == b
        default: false
        }
    }

    /// The value of an `a{sv}` entry, unwrapped from its variant.
    public subscript(key: String) -> BusValue? {
        guard case .dictionary(let entries) = self else { return nil }
        guard let value = entries.first(where: { $0.0 == key })?.1 else { return nil }
        if case .variant(let inner) = value { return inner }
        return value
    }

    /// A list of records as `aa{sv}`.
    static func records(_ records: [[(String, BusValue)]]) -> BusValue {
        .array(element: "a{sv}", records.map { .dictionary($0) })
    }
}
