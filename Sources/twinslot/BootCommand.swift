import ArgumentParser
import TwinslotCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

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
            if outcome.rebootRequested { try Reporter(device: device).reboot(environment: rebootEnvironment(outcome)) }
        }
    }
}

func printBootOutcome(_ outcome: BootOutcome) {
    let actions = outcome.actions.map(\.rawValue).joined(separator: ", ")
    print("booted group \(outcome.booted.rawValue): \(actions)")
    if let detail = outcome.detail { print("  \(detail)") }
    if outcome.rebootRequested { print("  rebooting into the previous group") }
}

func rebootEnvironment(_ outcome: BootOutcome) -> [String: String] {
    ["TWINSLOT_BOOTED_GROUP": outcome.booted.rawValue, "TWINSLOT_REASON": outcome.detail ?? ""]
}
