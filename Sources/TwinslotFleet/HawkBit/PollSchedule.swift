#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// When the looping agent polls next. After a good cycle: the server's polling sleep, ±10 %, so
/// devices that booted together drift apart. After a failed one: exponential backoff with a cap
/// and full jitter (a uniform pick in 0…min(cap, initial·2ⁿ⁻¹)), and never earlier than the
/// server's `Retry-After` (plus up to 10 %): 10,000 devices recovering from an outage then
/// come back spread over minutes, not in the same second.
public struct PollSchedule: Sendable {
    public var initialBackoff: Double
    public var maximumBackoff: Double
    /// The longest `Retry-After` honoured; a larger one is cut to this.
    public var maximumRetryAfter: Double = 3600

    public init(initialBackoff: Double = 5, maximumBackoff: Double = 300) {
        self.initialBackoff = initialBackoff
        self.maximumBackoff = max(maximumBackoff, initialBackoff)
    }

    public func afterSuccess(sleep: Double) -> Double { sleep * Double.random(in: 0.9...1.1) }

    /// The pause after `failures` failed cycles in a row (1-based).
    public func afterFailure(_ failures: Int, retryAfter: Double?) -> Double {
        let ceiling = min(maximumBackoff, initialBackoff * Double(1 << min(max(failures - 1, 0), 30)))
        let backoff = Double.random(in: 0...ceiling)
        guard let retryAfter, retryAfter > 0 else { return backoff }
        return max(backoff, min(retryAfter, maximumRetryAfter) * Double.random(in: 1...1.1))
    }

    /// A `Retry-After` value in seconds from now: delay-seconds, or an IMF-fixdate
    /// (`Sun, 06 Nov 1994 08:49:37 GMT`, RFC 9110). Nil when unreadable.
    public static func retryAfterSeconds(_ header: String?, now: Date = Date()) -> Double? {
        guard let text = header?.trimmingWhitespace(), !text.isEmpty else { return nil }
        if let seconds = UInt64(text) { return Double(seconds) }
        let parts = text.split(separator: " ")
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        guard parts.count == 6, parts[5] == "GMT", let day = Int(parts[1]),
            let month = months.firstIndex(of: String(parts[2])).map({ $0 + 1 }), let year = Int(parts[3])
        else { return nil }
        let clock = parts[4].split(separator: ":").compactMap { Int($0) }
        guard clock.count == 3 else { return nil }
        // Days from the civil date (Howard Hinnant's algorithm), then seconds since 1970.
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        let days = era * 146097 + dayOfEra - 719468
        let epoch = Double(days * 86400 + clock[0] * 3600 + clock[1] * 60 + clock[2])
        return max(0, epoch - now.timeIntervalSince1970)
    }
}
