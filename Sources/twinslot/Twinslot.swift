import ArgumentParser
import TwinslotCore

#if canImport(Glibc)
    import Glibc
#endif

/// Test-only: with `TWINSLOT_TEST_STOP_AFTER=<record kind>` (BEGIN, STAGED, FLIPPED, …) the
/// process stops itself (SIGSTOP) right after that journal record is durable, so the crash
/// tests can kill it exactly at a phase boundary. Unset, nothing happens.
func installTestStopHook() {
    guard let kind = getenv("TWINSLOT_TEST_STOP_AFTER").map({ String(cString: $0) }), !kind.isEmpty else { return }
    Journal.afterDurableAppend = { record in
        if record.kind == kind { raise(SIGSTOP) }
    }
}

@main
struct Twinslot: ParsableCommand {
    static func main() {
        installTestStopHook()
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            exit(withError: error)
        }
    }

    static let configuration = CommandConfiguration(
        abstract: "Safe A/B updates for edge Linux devices.",
        discussion: """
            twinslot stages a signed bundle into the inactive slot group, verifies it, and flips \
            to it behind a write-ahead journal, so that a power cut never leaves the device \
            without a good slot to boot. Exit codes are listed in docs/cli.md.
            """,
        subcommands: [
            BundleCommand.self, InstallCommand.self, StatusCommand.self, BootCommand.self, MarkGoodCommand.self,
            MarkBadCommand.self, AgentCommand.self, SimCommand.self,
        ]
    )
}
