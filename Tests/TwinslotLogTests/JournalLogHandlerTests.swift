import Logging
import Testing
import TwinslotLog

/// The handler's mapping from a swift-log call to journald's fields; scripts/vm-test.sh checks
/// the same entries with `journalctl -o json` under a real journald.
@Suite struct JournalLogHandlerTests {
    @Test func metadataBecomesTwinslotFields() {
        let fields = JournalLogHandler.journalFields(
            level: .notice, message: "image rootfs staged",
            metadata: [
                "operation-id": "42", "slot": "B", "phase": "staged", "bundle-version": "2.0.0", "exit-code": "0",
            ],
            file: "Installer.swift", function: "perform", line: 7)
        #expect(
            fields == [
                "MESSAGE=image rootfs staged", "PRIORITY=5", "SYSLOG_IDENTIFIER=twinslot", "CODE_FILE=Installer.swift",
                "CODE_LINE=7", "CODE_FUNC=perform", "TWINSLOT_BUNDLE_VERSION=2.0.0", "TWINSLOT_EXIT_CODE=0",
                "TWINSLOT_OPERATION_ID=42", "TWINSLOT_PHASE=staged", "TWINSLOT_SLOT=B",
            ])
    }

    @Test func levelsAreSyslogPriorities() {
        let levels: [Logger.Level] = [.trace, .debug, .info, .notice, .warning, .error, .critical]
        #expect(levels.map(JournalLogHandler.priority) == [7, 7, 6, 5, 4, 3, 2])
    }

    @Test func keysBecomeValidJournalFieldNames() {
        #expect(JournalLogHandler.fieldName("slot-class") == "TWINSLOT_SLOT_CLASS")
        #expect(JournalLogHandler.fieldName("image.sha256") == "TWINSLOT_IMAGE_SHA256")
        #expect(JournalLogHandler.fieldName("ünï") == "TWINSLOT__N_")
        #expect(JournalLogHandler.fieldName(String(repeating: "x", count: 100)).count == 64)
    }

    @Test func journalOnlyWhenStderrIsTheJournalStream() {
        #expect(LogDestination.choose(journalStream: "8:1234", device: 8, inode: 1234) == .journal)
        // Inherited by a child whose stderr was redirected: another inode.
        #expect(LogDestination.choose(journalStream: "8:1234", device: 8, inode: 99) == .stderr)
        #expect(LogDestination.choose(journalStream: nil, device: 8, inode: 1234) == .stderr)
        #expect(LogDestination.choose(journalStream: "garbage", device: 8, inode: 1234) == .stderr)
        #expect(LogDestination.choose(journalStream: "8:1234:5", device: 8, inode: 1234) == .stderr)
    }

    @Test func plainLineCarriesTheMetadata() {
        #expect(
            JournalLogHandler.plainLine(level: .warning, message: "rolled back", metadata: ["slot": "B", "phase": "x"])
                == "twinslot: warning: rolled back | phase=x slot=B\n")
        #expect(JournalLogHandler.plainLine(level: .info, message: "m", metadata: [:]) == "twinslot: info: m\n")
    }

}
