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
    let scaled = (value.magnitude * Double(unit)).rounded()
    guard scaled < 1e18 else { return "\(value)" }
    let units = UInt64(scaled)
    var text = (value.sign == .minus ? "-" : "") + String(units / unit)
    if digits > 0 {
        let fraction = String(units % unit)
        text += "." + String(repeating: "0", count: digits - fraction.count) + fraction
    }
    return text
}
