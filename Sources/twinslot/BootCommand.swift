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
            Run on every boot. It replays the journal, learns which group booted, abandons an \
            install a power cut interrupted, and when the booted group is a trial, runs the health \
            checks and commits it, or marks it bad and reboots into the old group. A trial staged \
            in the running boot is left alone until the device reboots (the kernel's boot id tells).

            Under systemd (docs/operations.md) it runs twice: `twinslot boot --early` before \
            services start (dist/systemd/twinslot-recover.service), and `twinslot boot` after \
            multi-user.target and boot-complete.target (dist/systemd/twinslot-boot.service), so \
            the checks see the services they check.
            """
    )

    @OptionGroup var global: GlobalOptions
    @Flag(help: "Print JSON.") var json = false
    @Flag(
        help: ArgumentHelp(
            "Recover only: replay the journal, abandon an interrupted install, repair the bootloader environment and point directory slots at the booted group.",
            discussion: "Never runs health checks, never commits or rolls back, never waits for services."))
    var early = false

    func run() throws {
        try reportingFailures(json: json) {
            let device = try global.device()
            let outcome = try BootService(device: device, early: early, logger: Log.logger).run()
            if json { printJSON(outcome) } else { printBootOutcome(outcome) }
            if outcome.rebootRequested { try Reporter(device: device).reboot(environment: rebootEnvironment(outcome)) }
        }
    }
}

func printBootOutcome(_ outcome: BootOutcome) {
    let actions = outcome.actions.map(\.rawValue).joined(separator: ", ")
    print("booted group \(outcome.booted.rawValue): \(actions.isEmpty ? "nothing to do" : actions)")
    if let detail = outcome.detail { print("  \(detail)") }
    if outcome.rebootRequested { print("  rebooting into the previous group") }
}

func rebootEnvironment(_ outcome: BootOutcome) -> [String: String] {
    ["TWINSLOT_BOOTED_GROUP": outcome.booted.rawValue, "TWINSLOT_REASON": outcome.detail ?? ""]
}
