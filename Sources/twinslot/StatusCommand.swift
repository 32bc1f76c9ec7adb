import ArgumentParser
import Foundation
import TwinslotCore

struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show the slot groups, what they hold, and the last operation.",
        discussion: "Reads only: it never writes, so it is safe at any time, even during an install."
    )

    @OptionGroup var global: GlobalOptions
    @Flag(help: "Print JSON.") var json = false

    func run() throws {
        try reportingFailures(json: json) {
            let device = try global.device()
            let report = try StatusReport.read(device: device)
            if json {
                // The last operation's report goes in whole, as it was written.
                let encoded = try JSONSerialization.jsonObject(with: Data(jsonText(report).utf8)) as! [String: Any]
                var object = encoded
                if let last = Reporter(device: device).lastReport(),
                    let parsed = try? JSONSerialization.jsonObject(with: Data(last.utf8))
                {
                    object["last_report"] = parsed
                }
                let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
                print(String(decoding: data, as: UTF8.self))
                return
            }
            print("compatible:  \(report.compatible)")
            print("booted:      \(report.booted?.rawValue ?? "unknown (\(report.bootedError ?? "?"))")")
            print("primary:     \(report.primary?.rawValue ?? "none yet")")
            print("next boot:   \(report.nextBoot?.rawValue ?? "none: no bootable group")  (\(report.bootloader))")
            print("security:    installed security version \(report.installedSecurityVersion)")
            print()
            let header = ["group", "role", "bootloader", "version", "slot", "state", "sha256"]
            var rows: [[String]] = []
            for group in report.groups {
                for (index, slot) in group.slots.enumerated() {
                    rows.append([
                        index == 0 ? group.group.rawValue : "", index == 0 ? group.role : "",
                        index == 0 ? group.bootloader : "", index == 0 ? (group.version ?? "-") : "",
                        slot.slotClass, slot.status, slot.sha256.map { String($0.prefix(12)) } ?? "-",
                    ])
                }
            }
            printTable(header, rows)
            if let operation = report.operation {
                print()
                print(
                    "in progress: install of \(operation.version) into group \(operation.target.rawValue), "
                        + "phase \(operation.phase.rawValue)")
            }
            if let last = report.last {
                print()
                var line = "last operation: \(last.outcome.rawValue)"
                if let version = last.version { line += " (\(version))" }
                line += " at \(ISO8601DateFormatter().string(from: last.finished))"
                print(line)
                if let reason = last.reason { print("  \(reason)") }
            }
            if report.recovery.cutBytes > 0 {
                print()
                print(
                    "journal: a torn tail of \(report.recovery.cutBytes) bytes will be cut at the next write "
                        + "(\(report.recovery.cutReason ?? ""))")
            }
        }
    }
}

func printTable(_ header: [String], _ rows: [[String]]) {
    let widths = header.indices.map { column in
        ([header] + rows).map { $0[column].count }.max() ?? 0
    }
    func line(_ cells: [String]) -> String {
        cells.enumerated().map { $1.padding(toLength: widths[$0], withPad: " ", startingAt: 0) }
            .joined(separator: "  ").replacingOccurrences(of: "\\s+$", with: "", options: .regularExpression)
    }
    print(line(header))
    print(line(widths.map { String(repeating: "-", count: $0) }))
    for row in rows { print(line(row)) }
}
