#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Small text helpers that stand in for full Foundation's (`trimmingCharacters(in:)`,
/// `String(format:)`), so that twinslot links FoundationEssentials only and never loads ICU.
extension StringProtocol {
    /// Without leading and trailing white space and newlines.
    public func trimmingWhitespace() -> String {
        trimming(where: { $0.isWhitespace || $0.isNewline })
    }

    /// Without leading and trailing characters that satisfy `drop`.
    public func trimming(where drop: (Character) -> Bool) -> String {
        guard let first = firstIndex(where: { !drop($0) }), let last = lastIndex(where: { !drop($0) }) else {
            return ""
        }
        return String(self[first...last])
    }
}

/// `value` with exactly `digits` decimals, as `String(format: "%.<digits>f", value)` writes it.
public func fixedPoint(_ value: Double, digits: Int) -> String {
    guard value.isFinite else { return value.isNaN ? "nan" : (value < 0 ? "-inf" : "inf") }
    var unit: UInt64 = 1
    for _ in 0..<max(0, digits) { unit *= 10 }
    let scaled = (value.magnitude * Double(unit)).rounded(.toNearestOrEven)
    guard scaled < 9e18 else { return "\(value)" }
    let units = UInt64(scaled)
    var text = (value.sign == .minus ? "-" : "") + String(units / unit)
    if digits > 0 {
        let fraction = String(units % unit)
        text += "." + String(repeating: "0", count: digits - fraction.count) + fraction
    }
    return text
}

/// `date` as RFC 3339 / ISO 8601 UTC to the second (`2026-11-28T20:00:00Z`), as
/// `Date.ISO8601FormatStyle()` writes it. Done by hand because Foundation's calendar and time
/// zone machinery costs about a megabyte of resident memory in a process that formats one date.
public func iso8601(_ date: Date) -> String {
    var seconds = time_t(date.timeIntervalSince1970.rounded(.down))
    var parts = tm()
    guard gmtime_r(&seconds, &parts) != nil else { return "\(date.timeIntervalSince1970)" }
    func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
    let year = Int(parts.tm_year) + 1900
    let yearText = year >= 0 && year < 1000 ? padded(year, 4) : "\(year)"
    return "\(yearText)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T\(two(parts.tm_hour)):\(two(parts.tm_min)):"
        + "\(two(parts.tm_sec))Z"
}

private func padded(_ value: Int, _ width: Int) -> String {
    let text = "\(value)"
    return String(repeating: "0", count: max(0, width - text.count)) + text
}

extension JSONEncoder.DateEncodingStrategy {
    /// ISO 8601 UTC to the second, like `.iso8601`, without Foundation's calendar machinery.
    public static var iso8601UTC: Self {
        .custom { date, encoder in
            var value = encoder.singleValueContainer()
            try value.encode(TwinslotCore.iso8601(date))
        }
    }
}
