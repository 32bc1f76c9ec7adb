import Foundation
import Testing

/// twinslot's log under a real systemd-journald: the daemon runs in a private mount namespace
/// (a tmpfs over /run, so its sockets are this test's alone), and the binary's stderr is a
/// journal stream (systemd-cat) with JOURNAL_STREAM naming it, as systemd sets it for a unit.
/// The entries are read back with `journalctl -o json`. Needs root (unshare -m), as the suite does.
@Suite(.serialized) struct JournaldTests {
    /// Runs `commands` (a shell script; `$TWINSLOT` is the binary, `as_unit CMD…` runs a command
    /// with its stderr on the journal) next to a private journald; returns the entries of the
    /// commands (native and stream ones; not journald's own).
    static func journal(_ commands: String, environment: [String: String]) throws -> [[String: Any]] {
        let script = """
            set -e
            mount -t tmpfs tmpfs /run
            mkdir -p /run/systemd/journal /run/log/journal
            /lib/systemd/systemd-journald & journald=$!
            trap 'kill $journald' EXIT
            for _ in $(seq 100); do [ -S /run/systemd/journal/stdout ] && break; sleep 0.05; done
            as_unit() { systemd-cat -t unit sh -c 'JOURNAL_STREAM=$(stat -L -c %d:%i /proc/self/fd/2) exec "$@"' as_unit "$@"; }
            \(commands)
            sleep 0.5
            journalctl --directory=/run/log/journal -o json --no-pager _TRANSPORT=journal _TRANSPORT=stdout
            """
        let result = try CLI.run(
            "/usr/bin/unshare", ["-m", "/bin/bash", "-c", script],
            environment: environment.merging(["TWINSLOT": CLI.binary]) { $1 })
        guard result.status == 0 else { throw CLIError("journald script failed: \(result.stderr)") }
        return try result.stdout.split(separator: "\n").map {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
        }
    }

    @Test func installStepsAreStructuredEntriesWithoutProgress() throws {
        let device = try SimulatedDeviceFixture("journald")
        let bundle = try device.bundle("2.0", securityVersion: 1, seed: 2)
        let entries = try Self.journal(
            "as_unit sh -c '\"$TWINSLOT\" install --json \"$BUNDLE\" >/dev/null'",  // stdout: the JSON report
            environment: device.environment.merging(["BUNDLE": bundle]) { $1 })
        let structured = entries.filter { $0["TWINSLOT_PHASE"] != nil }
        #expect(
            structured.map { $0["TWINSLOT_PHASE"] as? String } == ["begin", "staged", "staged", "staged", "flipped"])
        // Only the structured entries: no progress, and no plain stderr line besides them.
        let others = entries.filter { $0["TWINSLOT_PHASE"] == nil }.map { "\($0["MESSAGE"] ?? "")" }
        #expect(others.isEmpty, "entries besides the structured ones: \(others)")
        for entry in structured {
            #expect(entry["_TRANSPORT"] as? String == "journal")
            #expect(entry["SYSLOG_IDENTIFIER"] as? String == "twinslot")
            #expect(entry["TWINSLOT_BUNDLE_VERSION"] as? String == "2.0")
            #expect(entry["TWINSLOT_SLOT"] as? String == "B")
            #expect(entry["PRIORITY"] as? String == "5")
        }
        #expect(Set(structured.compactMap { $0["TWINSLOT_OPERATION_ID"] as? String }).count == 1)
        #expect((structured.first?["TWINSLOT_BUNDLE_HASH"] as? String)?.count == 64)
        #expect(Set(structured.compactMap { $0["TWINSLOT_SLOT_CLASS"] as? String }) == ["rootfs", "firmware", "apps"])
    }

    @Test func anErrorCarriesItsExitCodeAndAPlainRunLogsPlainLines() throws {
        let entries = try Self.journal(
            """
            as_unit "$TWINSLOT" status --config /nonexistent/system.toml || true
            systemd-cat -t twinslot "$TWINSLOT" status --config /nonexistent/system.toml || true
            """, environment: [:])
        let native = entries.filter { $0["_TRANSPORT"] as? String == "journal" }
        // The structured entry replaces the plain line: nothing on the unit's stream.
        #expect(!entries.contains { $0["SYSLOG_IDENTIFIER"] as? String == "unit" })
        #expect(native.count == 1)
        #expect(native.first?["PRIORITY"] as? String == "3")
        #expect(native.first?["TWINSLOT_PHASE"] as? String == "error")
        #expect(native.first?["TWINSLOT_EXIT_CODE"] as? String == "17")
        #expect((native.first?["MESSAGE"] as? String)?.contains("/nonexistent/system.toml") == true)
        // Without JOURNAL_STREAM the same error is the plain stderr line, a stream entry.
        let plain = entries.filter { $0["_TRANSPORT"] as? String == "stdout" }
        #expect(plain.map { $0["MESSAGE"] as? String }.contains { $0?.hasPrefix("twinslot: error: ") == true })
    }
}
