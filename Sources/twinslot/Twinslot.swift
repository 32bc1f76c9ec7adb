import ArgumentParser
import Logging
import Synchronization
import TwinslotCore
import TwinslotLog

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

/// The process's log: journald when systemd made stderr the journal (the units in dist/systemd),
/// plain lines on stderr otherwise. Levels: info and up to the journal (no progress is logged
/// at any level); warning and up on stderr, where each command's own output already tells a
/// person what happened. `TWINSLOT_LOG_LEVEL` (trace … critical) overrides both.
enum Log {
    static let destination = LogDestination.detect()
    static let logger = Logger(label: "twinslot")

    static func bootstrap() {
        let configured = getenv("TWINSLOT_LOG_LEVEL").flatMap { Logger.Level(rawValue: String(cString: $0)) }
        let level = configured ?? (destination == .journal ? .info : .warning)
        LoggingSystem.bootstrap { label in
            JournalLogHandler(label: label, destination: destination, logLevel: level)
        }
    }
}

@main
struct Twinslot: ParsableCommand {
    /// `--config` before the subcommand (`twinslot --config PATH status`, as `sim init` prints it):
    /// ArgumentParser hands this group's value down to every device command's own
    /// `@OptionGroup var global`, so it is accepted there and after the subcommand alike.
    @OptionGroup var global: GlobalOptions

    static func main() {
        Log.bootstrap()
        installTestStopHook()
        do {
            var command = try parseAsRoot()
            if !takesGlobalOptions(command), configBeforeSubcommand(Array(CommandLine.arguments.dropFirst())) {
                throw ValidationError("--config applies only to the device commands (install, status, boot, ...)")
            }
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
            MarkBadCommand.self, BootloaderCommand.self, AgentCommand.self, SimCommand.self, ServiceCommand.self,
        ]
    )
}
