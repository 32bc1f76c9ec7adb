import Foundation
import Testing

@testable import TwinslotCore
@testable import twinslot

/// The install progress bar, fed a fake clock and terminal width, drawn on a model terminal
/// that does what a real one does with `\r` and `\n` (overwrite from column 0, new line).
@Suite struct ProgressBarTests {
    /// The screen after `writes`: each `\r` returns to column 0 and overwrites, `\n` ends a line.
    static func screen(_ writes: [String]) -> [String] {
        var lines: [[Character]] = [[]]
        var column = 0
        for character in writes.joined() {
            switch character {
            case "\r": column = 0
            case "\n":
                lines.append([])
                column = 0
            default:
                if column < lines[lines.count - 1].count {
                    lines[lines.count - 1][column] = character
                } else {
                    lines[lines.count - 1].append(character)
                }
                column += 1
            }
        }
        return lines.map { String($0) }.filter { !$0.isEmpty }
    }

    static func event(_ slotClass: String, _ bytes: UInt64, of total: UInt64) -> Installer.Progress {
        Installer.Progress(slotClass: slotClass, bytes: bytes, total: total)
    }

    @Test func aShorterRedrawLeavesNothingOfTheLongerLineBehind() {
        var bar = ProgressBar()
        let start = Date(timeIntervalSince1970: 1_000_000)
        var writes: [String] = []
        // A fast start (a long rate and ETA), then a slow end (shorter), then done.
        for (seconds, bytes) in [(0.0, 0), (1, 900 << 20), (2000, 1000 << 20), (2001, 1024 << 20)] {
            let text = bar.render(
                Self.event("rootfs", UInt64(bytes), of: 1024 << 20), now: start + seconds, columns: 120)
            writes.append(text ?? "")
        }
        let lines = Self.screen(writes)
        #expect(lines.count == 1, "\(lines)")
        #expect(lines[0].contains("100%"))
        #expect(!lines[0].contains("ETA"), "the finished line says how long it took: \(lines[0])")
        #expect(lines[0].trimmingCharacters(in: .whitespaces).hasSuffix("in 33m21s"), "\(lines[0])")
        #expect(!lines[0].contains("s0s") && !lines[0].contains("ss"), "\(lines[0])")
    }

    @Test func theFinalLineOfAnImageIsDrawnOnce() {
        var bar = ProgressBar()
        let now = Date()
        var writes: [String] = []
        for event in [
            Self.event("rootfs", 0, of: 100), Self.event("rootfs", 100, of: 100), Self.event("rootfs", 100, of: 100),
            Self.event("apps", 0, of: 0), Self.event("apps", 50, of: 0), Self.event("apps", 80, of: 80),
            Self.event("apps", 80, of: 80),
        ] {
            if let text = bar.render(event, now: now, columns: 100) { writes.append(text) }
        }
        let lines = Self.screen(writes)
        #expect(lines.count == 2, "\(lines)")
        #expect(lines.filter { $0.contains("100%") }.count == 2)
        #expect(lines[0].hasPrefix("rootfs") && lines[1].hasPrefix("apps"))
        #expect(!lines[1].contains("size unknown"), "the unknown-size line is overwritten: \(lines[1])")
    }

    @Test func aLineNeverFillsTheTerminalWidth() {
        var bar = ProgressBar()
        let now = Date()
        for bytes: UInt64 in [0, 10, 50, 99, 100] {
            let text = bar.render(Self.event("firmware", bytes, of: 100), now: now, columns: 40) ?? ""
            let visible = text.replacingOccurrences(of: "\r", with: "").replacingOccurrences(of: "\n", with: "")
            #expect(visible.count <= 39, "\(visible)")
        }
    }

    /// On a 70-column terminal the numbers stay whole and the bar shrinks to what is left.
    @Test func aNarrowTerminalShrinksTheBarNotTheNumbers() throws {
        var bar = ProgressBar()
        let start = Date()
        _ = bar.render(Self.event("rootfs", 0, of: 4 << 20), now: start, columns: 70)
        let rendered = bar.render(Self.event("rootfs", 1 << 20, of: 4 << 20), now: start + 1, columns: 70)
        let text = try #require(rendered)
        #expect(text.count <= 70, "\(text)")
        #expect(text.hasSuffix("1.0 MiB / 4.0 MiB  1.0 MiB/s  ETA 3s"), "\(text)")
        #expect(text.contains("[#") && !text.contains(String(repeating: ".", count: 23)), "\(text)")
        // The bar keeps its width from the first redraw to the last.
        let final = bar.render(Self.event("rootfs", 4 << 20, of: 4 << 20), now: start + 2, columns: 70)
        let last = try #require(final)
        func barWidth(_ line: String) -> Int? {
            guard let open = line.firstIndex(of: "["), let close = line.firstIndex(of: "]") else { return nil }
            return line.distance(from: open, to: close)
        }
        #expect(barWidth(text) != nil && barWidth(text) == barWidth(last), "\(text) / \(last)")
    }

    @Test func durationsStayShort() {
        #expect(ProgressBar.duration(0.2) == "0s")
        #expect(ProgressBar.duration(59) == "59s")
        #expect(ProgressBar.duration(125) == "2m05s")
        #expect(ProgressBar.duration(3720) == "1h02m")
    }
}
