import ArgumentParser
import Foundation
import TwinslotCore

struct BootCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "boot",
        abstract: "The boot-time service: recover, check health, commit or roll back.",
        discussion: """
            Run early on every boot (dist/systemd/twinslot-boot.service). It replays the journal, \
            learns which group booted, abandons an install a power cut interrupted, and when the \
            booted group is a trial, commits it or marks it bad and reboots into the old group.
            """
    )

    @OptionGroup var global: GlobalOptions
    @Flag(help: "Print JSON.") var json = false

    func run() throws {
        try reportingFailures(json: json) {
            let device = try global.device()
            let outcome = try BootService(device: device).run()
            if json { printJSON(outcome) } else { printBootOutcome(outcome) }
            if outcome.rebootRequested { try runReboot(device) }
        }
    }
}

func printBootOutcome(_ outcome: BootOutcome) {
    let actions = outcome.actions.map(\.rawValue).joined(separator: ", ")
    print("booted group \(outcome.booted.rawValue): \(actions)")
    if let detail = outcome.detail { print("  \(detail)") }
    if outcome.rebootRequested { print("  rebooting into the previous group") }
}

func runReboot(_ device: Device) throws {
    let command = device.config.bootloader.rebootCommand
    guard let executable = command.first else { return }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable.hasPrefix("/") ? executable : "/usr/bin/env")
    process.arguments = executable.hasPrefix("/") ? Array(command.dropFirst()) : command
    try process.run()
    process.waitUntilExit()
}
