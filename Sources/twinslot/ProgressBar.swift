import TwinslotCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The install progress bar: one line per image, redrawn in place with `\r`. A value type fed
/// the clock and the terminal width, so what it draws can be tested without a terminal.
///
/// Each redraw is padded with spaces over the previous one (a shorter line, say once the rate
/// drops a digit, would otherwise leave the old line's tail behind: "ETA 0s0s"), and cut to
/// the terminal's width (a wrapped line cannot be redrawn with `\r`). An image's final line
/// is drawn once: the installer may report the last byte more than once (written, then read
/// back), and a second "100 %" line would look like a second image.
struct ProgressBar {
    private var starts: [String: Date] = [:]
    private var finished: Set<String> = []
    private var drawnLength = 0

    /// What to write to the terminal for `progress` at `now`, `columns` wide; nil when there
    /// is nothing new to show (an image already drawn as finished).
    mutating func render(_ progress: Installer.Progress, now: Date, columns: Int) -> String? {
        guard !finished.contains(progress.slotClass) else { return nil }
        let began = starts[progress.slotClass] ?? now
        starts[progress.slotClass] = began
        let elapsed = max(now.timeIntervalSince(began), 0.001)
        let rate = formatBytes(UInt64(Double(progress.bytes) / elapsed)) + "/s"
        let name = padRight(progress.slotClass, 10)
        let done = progress.total > 0 && progress.bytes >= progress.total
        // Never the last column: a line that fills it makes some terminals wrap.
        let width = max(columns - 1, 1)
        var line: String
        if progress.total == 0 {
            // Size unknown until the image ends (a compressed SWUpdate image): no bar, no ETA.
            line = "\(name) \(formatBytes(progress.bytes)) written (size unknown until the end)  \(rate)"
        } else {
            let fraction = min(Double(progress.bytes) / Double(progress.total), 1)
            var tail =
                "\(padLeft(fixedPoint(fraction * 100, digits: 0), 3))%  "
                + "\(formatBytes(progress.bytes)) / \(formatBytes(progress.total))  \(rate)  "
            if done {
                tail += "in \(Self.duration(elapsed))"
            } else if progress.bytes == 0 {
                tail += "ETA --"
            } else {
                let remaining = Double(progress.total - progress.bytes) / (Double(progress.bytes) / elapsed)
                tail += "ETA \(Self.duration(remaining))"
            }
            // The bar takes what the widest numbers of this image would leave, up to 30 columns:
            // on a narrow terminal the numbers matter more, and a bar whose width changed from
            // one redraw to the next would look like progress going back.
            let widest =
                "100%  \(formatBytes(progress.total)) / \(formatBytes(progress.total))  1023.9 MiB/s  ETA 59m59s"
            let barWidth = min(30, width - name.count - widest.count - 4)
            if barWidth >= 5 {
                let filled = Int(fraction * Double(barWidth))
                let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: barWidth - filled)
                line = "\(name) [\(bar)] \(tail)"
            } else {
                line = "\(name) \(tail)"
            }
        }
        if line.count > width { line = String(line.prefix(width)) }
        let text = "\r" + padRight(line, min(drawnLength, width))
        drawnLength = line.count
        guard done else { return text }
        finished.insert(progress.slotClass)
        drawnLength = 0
        return text + "\n"
    }

    /// `7s`, `2m05s`, `1h02m`: short enough to keep the line's width steady.
    static func duration(_ seconds: Double) -> String {
        let total = Int(seconds.rounded())
        func twoDigits(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
        if total < 60 { return "\(total)s" }
        if total < 3600 { return "\(total / 60)m\(twoDigits(total % 60))s" }
        return "\(total / 3600)h\(twoDigits(total % 3600 / 60))m"
    }
}
