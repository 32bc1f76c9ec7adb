import ArgumentParser
import Synchronization
import TwinslotCore

#if canImport(Glibc)
    import Glibc
#endif

/// Test-only, debug builds only (`TWINSLOT_TEST_HOOKS`): with `TWINSLOT_TEST_STOP_AFTER=<record
/// kind>` (BEGIN, STAGED, FLIPPED, …) the process stops itself (SIGSTOP) right after that journal
/// record is durable, so the crash tests can kill it exactly at a phase boundary. `KIND#N` stops
/// at the N-th such record. Unset, nothing happens; a release build has no such hook at all.
func installTestStopHook() {
    #if TWINSLOT_TEST_HOOKS
        guard let value = getenv("TWINSLOT_TEST_STOP_AFTER").map({ String(cString: $0) }), !value.isEmpty else {
            return
        }
        let parts = value.split(separator: "#", maxSplits: 1)
        let kind = String(parts[0])
        let nth = parts.count == 2 ? Int(parts[1]) ?? 1 : 1
        let seen = Mutex(0)
        Journal.afterDurableAppend.withLock {
            $0 = { record in
                guard record.kind == kind else { return }
                if seen.withLock({ count in
                    count += 1
                    return count == nth
                }) {
                    raise(SIGSTOP)
                }
            }
        }
    #endif
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
        version: TwinslotVersion.current,
        subcommands: [
            BundleCommand.self, InstallCommand.self, StatusCommand.self, BootCommand.self, MarkGoodCommand.self,
            MarkBadCommand.self, BootloaderCommand.self, AgentCommand.self, SimCommand.self,
        ]
    )
}
