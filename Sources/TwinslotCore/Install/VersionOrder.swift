/// The order of bundle versions for the "no older version" rule (`security.allow-older-version
/// = false`), in the spirit of SWUpdate's `-N` and RAUC's `min-bundle-version`: semver-like, so
/// that `1.5 < 3.0`, `1.10 > 1.9` and `2.0-rc1 < 2.0`, without refusing versions that are not
/// strict semver (`2024.03`, `v3`, `1.2.3.4`).
///
/// Rules: a leading `v` and any `+build` suffix are ignored; the rest splits at the first `-`
/// into a release and a pre-release; each is compared run by run (digits numerically, other
/// characters as text, `.` `_` separating), a missing run counting as 0 or empty; a release
/// without a pre-release is newer than the same release with one.
public enum VersionOrder {
    /// Negative when `a` is older than `b`, 0 when they are equal in this order, positive else.
    public static func compare(_ a: String, _ b: String) -> Int {
        let (releaseA, preA) = split(a)
        let (releaseB, preB) = split(b)
        let release = compareRuns(runs(releaseA), runs(releaseB))
        if release != 0 { return release }
        switch (preA, preB) {
        case (nil, nil): return 0
        case (nil, _): return 1
        case (_, nil): return -1
        case (let x?, let y?): return compareRuns(runs(x), runs(y))
        }
    }

    public static func isOlder(_ version: String, than other: String) -> Bool { compare(version, other) < 0 }

    private static func split(_ version: String) -> (String, String?) {
        var text = Substring(version)
        if let plus = text.firstIndex(of: "+") { text = text[..<plus] }
        if text.first == "v" || text.first == "V" { text = text.dropFirst() }
        guard let dash = text.firstIndex(of: "-") else { return (String(text), nil) }
        return (String(text[..<dash]), String(text[text.index(after: dash)...]))
    }

    private enum Run: Equatable {
        case number(UInt64)
        case text(String)
    }

    private static func runs(_ text: String) -> [Run] {
        var result: [Run] = []
        var current = ""
        var digits = false
        func flush() {
            guard !current.isEmpty else { return }
            result.append(digits ? .number(UInt64(current.suffix(18)) ?? .max) : .text(current))
            current = ""
        }
        for character in text {
            if character == "." || character == "_" || character == "-" {
                flush()
                continue
            }
            let isDigit = character.isASCII && character.isNumber
            if isDigit != digits { flush() }
            digits = isDigit
            current.append(character)
        }
        flush()
        return result
    }

    private static func compareRuns(_ a: [Run], _ b: [Run]) -> Int {
        for index in 0..<max(a.count, b.count) {
            let x = index < a.count ? a[index] : nil
            let y = index < b.count ? b[index] : nil
            switch (x, y) {
            case (.number(let m)?, .number(let n)?): if m != n { return m < n ? -1 : 1 }
            case (.text(let s)?, .text(let t)?): if s != t { return s < t ? -1 : 1 }
            // A number is newer than text at the same place (1.0.1 > 1.0.beta).
            case (.number?, .text?): return 1
            case (.text?, .number?): return -1
            case (.number(let m)?, nil): if m != 0 { return 1 }
            case (nil, .number(let n)?): if n != 0 { return -1 }
            case (.text?, nil): return 1
            case (nil, .text?): return -1
            case (nil, nil): return 0
            }
        }
        return 0
    }
}
