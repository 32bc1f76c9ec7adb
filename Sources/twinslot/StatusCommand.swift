import ArgumentParser
import TwinslotCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

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
                var object = try JSONDecoder().decode([String: JSONValue].self, from: Data(jsonText(report).utf8))
                if let last = Reporter(device: device).lastReport(),
                    let parsed = try? JSONDecoder().decode(JSONValue.self, from: Data(last.utf8))
                {
                    object["last_report"] = parsed
                }
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
                print(String(decoding: try encoder.encode(object), as: UTF8.self))
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
                        slot.slotClass, slot.status,
                        (slot.sha256.map { String($0.prefix(12)) } ?? "-")
                            + (slot.copiedFrom.map { "  (copied from \($0.rawValue))" } ?? ""),
                    ])
                }
            }
            printTable(header, rows)
            if let operation = report.operation {
                print()
                print(operationLine(operation))
            }
            if let last = report.last {
                print()
                var line = "last operation: \(last.outcome.rawValue)"
                if let version = last.version { line += " (\(version))" }
                line += " at \(iso8601(last.finished))"
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

/// The operation the journal holds, said as what the device waits for: once the flip is durable
/// the install is done, and only a reboot (then `twinslot boot`) moves it on.
func operationLine(_ operation: DeviceState.Operation) -> String {
    let group = "group \(operation.target.rawValue)"
    switch operation.phase {
    case .flipped:
        return "staged: \(operation.version) is installed in \(group), waiting for a reboot into its trial boot "
            + "(then 'twinslot boot' commits it if healthy, else the device falls back)"
    case .bootedTrial:
        return "on trial: \(operation.version) booted in \(group); 'twinslot boot' commits it if healthy, "
            + "else rolls back"
    case .begun, .targetDisabled, .staging:
        return "in progress: install of \(operation.version) into \(group), phase \(operation.phase.rawValue) "
            + "(nothing is bootable from \(group) until it is staged)"
    }
}

func printTable(_ header: [String], _ rows: [[String]]) {
    let widths = header.indices.map { column in
        ([header] + rows).map { $0[column].count }.max() ?? 0
    }
    func line(_ cells: [String]) -> String {
        var text = cells.enumerated().map { padRight($1, widths[$0]) }.joined(separator: "  ")
        while text.last?.isWhitespace == true { text.removeLast() }
        return text
    }
    print(line(header))
    print(line(widths.map { String(repeating: "-", count: $0) }))
    for row in rows { print(line(row)) }
}

/// Any JSON value, to pass a document through without knowing its shape.
enum JSONValue: Codable, Equatable {
    case null
    case bool(Bool)
    case integer(Int64)
    case unsigned(UInt64)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    init(from decoder: any Decoder) throws {
        let value = try decoder.singleValueContainer()
        if value.decodeNil() {
            self = .null
        } else if let bool = try? value.decode(Bool.self) {
            self = .bool(bool)
        } else if let integer = try? value.decode(Int64.self) {
            self = .integer(integer)
        } else if let unsigned = try? value.decode(UInt64.self) {
            self = .unsigned(unsigned)
        } else if let number = try? value.decode(Double.self) {
            self = .number(number)
        } else if let string = try? value.decode(String.self) {
            self = .string(string)
        } else if let array = try? value.decode([JSONValue].self) {
            self = .array(array)
        } else {
            self = .object(try value.decode([String: JSONValue].self))
        }
    }

    func encode(to encoder: any Encoder) throws {
        var value = encoder.singleValueContainer()
        switch self {
        case .null: try value.encodeNil()
        case .bool(let bool): try value.encode(bool)
        case .integer(let integer): try value.encode(integer)
        case .unsigned(let unsigned): try value.encode(unsigned)
        case .number(let number): try value.encode(number)
        case .string(let string): try value.encode(string)
        case .array(let array): try value.encode(array)
        case .object(let object): try value.encode(object)
        }
    }
}
