import TwinslotCore
import TwinslotFleet

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// What the read-only methods answer, built from the same values the CLI prints as JSON so
/// the two can never drift: `GetSlotStatus` is `twinslot status --json` and `Inspect` is
/// `twinslot bundle info --json`, each document mapped to D-Bus types by one rule (`bus(_:)`).
enum Records {
    /// The device's status with the last operation's report, as `status --json` prints it.
    static func status(device: Device) throws -> BusValue {
        let report = try StatusReport.read(device: device)
        var value = try bus(json(report))
        if let last = Reporter(device: device).lastReport(),
            let parsed = try? StrictJSON.parse(Array(last.utf8)), case .dictionary(var entries) = value
        {
            entries.append(("last_report", bus(parsed)))
            value = .dictionary(entries)
        }
        return value
    }

    struct BundleInfo: Encodable {
        var bundle: String
        var format: String
        var bundleHash: String
        var signature: String
        var signer: String?
        var manifest: Manifest
    }

    /// The bundle's manifest with its signature verified against the device's keyring, as a
    /// device would check it before installing; reads only the first members.
    static func inspect(source location: String, caller: Result<Caller, BusFailure>, device: Device) throws -> (
        BusValue, Manifest
    ) {
        let keyring = try Keyring(contentsOf: device.config.keyring)
        let source = try CallerAccess.openBundle(location, for: caller, device: device)
        let reader = try BundleFormat.open(source, swu: nil)
        let verified = try reader.readManifest(keyring: keyring)
        let info = BundleInfo(
            bundle: location, format: reader is SwuReader ? "swupdate" : "twinslot",
            bundleHash: verified.bundleHash, signature: "verified", signer: verified.signer?.subject,
            manifest: verified.manifest)
        return (try bus(json(info)), verified.manifest)
    }

    /// A file path, or an http(s) URL streamed by TwinslotFleet's source under the device's
    /// `[network]` bounds, exactly as `twinslot install URL` opens it.
    static func openSource(_ location: String, device: Device) throws -> any ByteSource {
        try checkLocation(location)
        if HTTPByteSource.isHTTPURL(location) {
            var options = HTTPOptions()
            options.lowSpeedLimit = device.config.network.lowSpeedLimit
            options.stallTimeout = device.config.network.lowSpeedSeconds
            return try HTTPByteSource(url: location, options: options)
        }
        return try FileByteSource(path: location)
    }

    /// Refuses, before anything starts, what the service cannot open: a relative path.
    static func checkLocation(_ location: String) throws(ServiceError) {
        guard location.hasPrefix("/") || HTTPByteSource.isHTTPURL(location) else {
            throw ServiceError.usage(
                "'\(location)' is neither an absolute path nor an http(s) URL: the service does not share the "
                    + "caller's working directory")
        }
    }

    private static func json(_ value: some Encodable) throws -> StrictJSON.Value {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.dateEncodingStrategy = .iso8601UTC
        return try StrictJSON.parse(Array(try encoder.encode(value)))
    }

    /// JSON to D-Bus: an object is `a{sv}` (a null member is left out: D-Bus has no null), an
    /// array of objects `aa{sv}`, of strings `as`, anything else `av`; a number is `t` (or
    /// `x` when negative) when integral, else `d`.
    static func bus(_ value: StrictJSON.Value) -> BusValue {
        switch value {
        case .object(let members):
            return .dictionary(
                members.compactMap { member in
                    if case .null = member.value { return nil }
                    return (member.name, bus(member.value))
                })
        case .array(let items):
            let values = items.map(bus)
            let signatures = Set(values.map(\.signature))
            if signatures.count == 1, let only = signatures.first, only == "a{sv}" || only == "s" {
                return .array(element: only, values)
            }
            return .array(element: "v", values.map { .variant($0) })
        case .string(let text): return .string(text)
        case .bool(let flag): return .bool(flag)
        case .null: return .string("")
        case .number(let text):
            if let unsigned = UInt64(text) { return .uint64(unsigned) }
            if let signed = Int64(text) { return .int64(signed) }
            return .double(Double(text) ?? 0)
        }
    }
}
