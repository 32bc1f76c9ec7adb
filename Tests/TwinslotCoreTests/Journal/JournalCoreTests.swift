import Foundation
import SystemPackage
import Testing

@testable import TwinslotCore

@Suite struct JournalCoreTests {
    let storage = PosixStorage()

    func begin(_ target: SlotLetter, security: UInt64 = 2, classes: [String] = ["rootfs", "apps"]) -> JournalRecord {
        .begin(
            BeginRecord(
                operationID: "op-\(target.rawValue)-\(security)", bundleHash: String(repeating: "ab", count: 32),
                version: "v\(security)", compatible: "board", securityVersion: security, source: "b.tsb",
                target: target, slotClasses: classes))
    }

    /// A whole successful update of `target`.
    func story(_ target: SlotLetter, security: UInt64 = 2) -> [JournalRecord] {
        [
            begin(target, security: security), .targetDisabled(target),
            .staged(slotClass: "rootfs", group: target, sha256: "11", size: 10),
            .staged(slotClass: "apps", group: target, sha256: "22", size: 20), .flipped(target), .bootedTrial(target),
            .committed(target),
        ]
    }

    func journal(_ directory: String) -> Journal { Journal(storage: storage, directory: FilePath(directory)) }

    /// A torn last frame means the process died before that frame was durable, so before the
    /// checkpoint an operation's last record writes after it: a test that tears the frame by
    /// hand removes the checkpoint too.
    func removeCheckpoints(_ directory: String) {
        for name in JournalSnapshot.names { try? FileManager.default.removeItem(atPath: directory + "/" + name) }
    }

    /// A STAGED record written before partial bundles has no `copiedFrom`: it still decodes (an
    /// image from the bundle), and a full bundle's STAGED is encoded exactly as before.
    @Test func aStagedRecordWithoutCopiedFromDecodes() throws {
        let old = Data(#"{"staged":{"group":"B","sha256":"11","size":10,"slotClass":"rootfs"}}"#.utf8)
        let decoded = try JSONDecoder().decode(JournalRecord.self, from: old)
        #expect(decoded == .staged(slotClass: "rootfs", group: .b, sha256: "11", size: 10))
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        #expect(try encoder.encode(decoded) == old)
        let copied = JournalRecord.staged(slotClass: "apps", group: .b, sha256: "22", size: 20, copiedFrom: .a)
        let text = String(decoding: try encoder.encode(copied), as: UTF8.self)
        #expect(text.contains(#""copiedFrom":"A""#), "\(text)")
        #expect(try JSONDecoder().decode(JournalRecord.self, from: Data(text.utf8)) == copied)

        var state = DeviceState()
        for (index, record) in [begin(.b), .targetDisabled(.b), decoded, copied].enumerated() {
            state.apply(JournalEntry(sequence: UInt64(index + 1), time: Date(), record: record))
        }
        #expect(state.groupB.slots["apps"]?.copiedFrom == .a)
        #expect(state.groupB.slots["rootfs"]?.copiedFrom == nil)
        #expect(state.operation?.isFullyStaged == true)
    }

    @Test func crc32cKnownVector() {
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
        #expect(CRC32C.checksum([]) == 0)
    }

    @Test func appendAndRecoverRoundTrip() throws {
        let directory = Fixtures.temporaryDirectory("journal")
        let first = journal(directory)
        for record in story(.b) { try first.append(record) }
        let second = journal(directory)
        let report = try second.recover()
        #expect(report.cutBytes == 0)
        #expect(second.state == first.state)
        #expect(second.entries.map(\.record) == story(.b))
        #expect(second.state.primary == .b)
        #expect(second.state.installedSecurityVersion == 2)
        #expect(second.state.operation == nil)
        #expect(second.state.last?.outcome == .committed)
        #expect(second.state.group(.b).slots["rootfs"] == .init(status: .good, sha256: "11", size: 10))
    }

    @Test func aTornLastFrameIsCutAtEveryLength() throws {
        let directory = Fixtures.temporaryDirectory("torn")
        let writer = journal(directory)
        let records = story(.b)
        for record in records.dropLast() { try writer.append(record) }
        let path = directory + "/journal"
        let prefix = Fixtures.read(path)
        try writer.append(records.last!)
        removeCheckpoints(directory)
        let full = Fixtures.read(path)
        let expected = DeviceState.replay(snapshot: nil, entries: try Journal.parse(prefix).0.entries)
        for length in prefix.count..<full.count {
            Fixtures.write(Array(full[..<length]), to: path)
            let recovering = journal(directory)
            let report = try recovering.recover()
            #expect(recovering.state == expected, "cut at \(length)")
            #expect(report.cutBytes == UInt64(length - prefix.count))
            #expect(Fixtures.read(path).count == prefix.count, "file truncated to the valid prefix")
            if length == prefix.count + 7 {
                try recovering.append(.committed(.b))
                removeCheckpoints(directory)
                let reread = journal(directory)
                try reread.recover()
                #expect(reread.state.primary == .b)
            }
        }
    }

    /// One bad sector in the middle, intact frames after it: not a tear. The checkpoint written
    /// when the operation committed covers the lost record, so nothing is lost and the journal is
    /// compacted; before, recovery cut from the bad frame on, erasing the COMMITTED after it.
    @Test func aCorruptMiddleFrameCoveredByTheCheckpointIsSalvaged() throws {
        let directory = Fixtures.temporaryDirectory("corrupt")
        let writer = journal(directory)
        for record in story(.b) { try writer.append(record) }
        let path = directory + "/journal"
        var bytes = Fixtures.read(path)
        let frames = try Journal.parse(bytes).0.entries.map { Journal.frame($0).count }
        let thirdFrame = frames[0] + frames[1]
        bytes[thirdFrame + 30] ^= 0x01
        Fixtures.write(bytes, to: path)
        let recovering = journal(directory)
        let report = try recovering.recover()
        #expect(report.cutReason?.contains("CRC") == true)
        #expect(report.cutBytes == 0)
        #expect(recovering.state == writer.state)
        #expect(recovering.state.primary == .b && recovering.state.installedSecurityVersion == 2)
        #expect(Fixtures.read(path).isEmpty, "compacted from the salvaged state")
        try recovering.append(begin(.a, security: 3))
        let again = journal(directory)
        try again.recover()
        #expect(again.state.counters.commits == 1 && again.state.operation?.target == .a)
    }

    /// Damage that takes records no checkpoint holds (an install in progress) is refused, and
    /// nothing is cut: the operator copies the data directory aside.
    @Test func aCorruptMiddleFrameNoCheckpointCoversIsRefusedNotCut() throws {
        let directory = Fixtures.temporaryDirectory("corrupt-open")
        let writer = journal(directory)
        for record in story(.b).dropLast(2) { try writer.append(record) }
        let path = directory + "/journal"
        var bytes = Fixtures.read(path)
        let frames = try Journal.parse(bytes).0.entries.map { Journal.frame($0).count }
        bytes[frames[0] + frames[1] + 30] ^= 0x01
        Fixtures.write(bytes, to: path)
        #expect(throws: JournalError.damaged(offset: frames[0] + frames[1], lost: 3...3, resumesAt: 4)) {
            try journal(directory).recover()
        }
        #expect(throws: JournalError.self) {
            _ = try Journal.readState(storage: storage, directory: FilePath(directory))
        }
        #expect(Fixtures.read(path) == bytes, "nothing was cut")
    }

    /// One checkpoint copy unreadable (a bad sector, a torn replacement): the other one serves.
    @Test func aDamagedCheckpointCopyFallsBackToTheOther() throws {
        let directory = Fixtures.temporaryDirectory("checkpoints")
        let writer = journal(directory)
        writer.compactionThreshold = 1
        for record in story(.b) { try writer.append(record) }
        #expect(Fixtures.read(directory + "/journal").isEmpty)
        var copy = Fixtures.read(directory + "/journal.snapshot")
        copy[copy.count / 2] ^= 0x20
        Fixtures.write(copy, to: directory + "/journal.snapshot")
        let recovered = journal(directory)
        try recovered.recover()
        #expect(recovered.state == writer.state)
        Fixtures.write(copy, to: directory + "/journal.snapshot.2")
        #expect(throws: JournalError.self) { try journal(directory).recover() }
    }

    @Test func aSequenceGapWithAnIntactRecordAfterItIsRefused() throws {
        let directory = Fixtures.temporaryDirectory("gap")
        let writer = journal(directory)
        try writer.append(begin(.b))
        var bytes = Fixtures.read(directory + "/journal")
        bytes += Journal.frame(JournalEntry(sequence: 5, time: Date(), record: .targetDisabled(.b)))
        Fixtures.write(bytes, to: directory + "/journal")
        #expect(throws: JournalError.self) { try journal(directory).recover() }
        #expect(Fixtures.read(directory + "/journal") == bytes)
    }

    /// A frame with a valid CRC that does not decode was written whole by someone: refused.
    @Test func anIntactRecordOfUnknownTypeIsRefusedNotCut() throws {
        let directory = Fixtures.temporaryDirectory("unknown")
        let writer = journal(directory)
        try writer.append(begin(.b))
        var bytes = Fixtures.read(directory + "/journal")
        let payload = Array(#"{"record":{"futureRecord":{}},"sequence":2,"time":0}"#.utf8)
        var frame = Array("TSJR".utf8)
        for i in 0..<4 { frame.append(UInt8(truncatingIfNeeded: payload.count >> (8 * i))) }
        for i in 0..<8 { frame.append(UInt8(truncatingIfNeeded: UInt64(2) >> (8 * UInt64(i)))) }
        let crc = CRC32C.checksum(payload, continuing: CRC32C.checksum(frame[4..<16]))
        for i in 0..<4 { frame.append(UInt8(truncatingIfNeeded: crc >> (8 * UInt32(i)))) }
        bytes += frame + payload
        Fixtures.write(bytes, to: directory + "/journal")
        #expect(throws: JournalError.undecodableRecord(offset: bytes.count - frame.count - payload.count, sequence: 2))
        {
            try journal(directory).recover()
        }
        #expect(Fixtures.read(directory + "/journal") == bytes, "nothing was cut")
    }

    @Test func readingTheStateNeverWrites() throws {
        let directory = Fixtures.temporaryDirectory("readonly")
        let writer = journal(directory)
        for record in story(.b) { try writer.append(record) }
        let path = directory + "/journal"
        removeCheckpoints(directory)
        let torn = Array(Fixtures.read(path).dropLast(5))
        Fixtures.write(torn, to: path)
        let (state, report) = try Journal.readState(storage: storage, directory: FilePath(directory))
        #expect(report.cutBytes > 0)
        #expect(state.operation?.phase == .bootedTrial)
        #expect(Fixtures.read(path) == torn)
    }

    @Test func compactionKeepsTheState() throws {
        let directory = Fixtures.temporaryDirectory("compact")
        let writer = journal(directory)
        writer.compactionThreshold = 1024
        var all: [JournalRecord] = []
        for round in 0..<6 {
            let target: SlotLetter = round % 2 == 0 ? .b : .a
            let records = story(target, security: UInt64(round + 1))
            all += records
            for record in records { try writer.append(record) }
        }
        #expect(Fixtures.read(directory + "/journal").count < 4096, "compacted automatically")
        #expect(FileManager.default.fileExists(atPath: directory + "/journal.snapshot"))
        let uncompacted = all.enumerated().reduce(into: DeviceState()) { state, item in
            state.apply(
                JournalEntry(
                    sequence: UInt64(item.offset + 1), time: Date(timeIntervalSince1970: 0), record: item.element))
        }
        let recovered = journal(directory)
        try recovered.recover()
        #expect(recovered.state.counters == uncompacted.counters)
        #expect(recovered.state.primary == uncompacted.primary)
        #expect(recovered.state.installedSecurityVersion == 6)
        #expect(recovered.state.lastSequence == UInt64(all.count))
        try recovered.append(begin(.b, security: 7))
        let reread = journal(directory)
        try reread.recover()
        #expect(reread.state.operation?.securityVersion == 7)
    }

    @Test func aCutBetweenSnapshotAndTruncateAppliesNothingTwice() throws {
        let directory = Fixtures.temporaryDirectory("snapcut")
        let writer = journal(directory)
        for record in story(.b) { try writer.append(record) }
        // The checkpoints are written, the journal not yet emptied.
        try JournalSnapshot.writeBoth(writer.state, storage: storage, directory: FilePath(directory))
        let recovered = journal(directory)
        try recovered.recover()
        #expect(recovered.state == writer.state)
        #expect(recovered.state.counters.installs == 1)
        #expect(recovered.state.counters.commits == 1)
        try recovered.append(begin(.a, security: 3))
        let again = journal(directory)
        try again.recover()
        #expect(again.state.counters.installs == 2)
    }

    @Test func theFirstBootAdoptionIsNotACommit() {
        var state = DeviceState()
        state.apply(JournalEntry(sequence: 1, time: Date(timeIntervalSince1970: 1), record: .committed(.a)))
        #expect(state.primary == .a)
        #expect(state.counters.commits == 0, "adopting the factory group installed nothing")
        for (index, record) in story(.b).enumerated() {
            state.apply(
                JournalEntry(
                    sequence: UInt64(index + 2), time: Date(timeIntervalSince1970: Double(index + 2)), record: record))
        }
        #expect(state.counters.commits == 1)
    }

    @Test func rollbackFailureAndTheAntiRollbackFloor() throws {
        var state = DeviceState()
        var sequence: UInt64 = 0
        func apply(_ record: JournalRecord) {
            sequence += 1
            state.apply(
                JournalEntry(sequence: sequence, time: Date(timeIntervalSince1970: Double(sequence)), record: record))
        }
        for record in story(.b, security: 5) { apply(record) }
        #expect(state.installedSecurityVersion == 5)
        // A trial that is rolled back.
        for record in story(.a, security: 6).prefix(5) { apply(record) }
        #expect(state.operation?.phase == .flipped)
        #expect(state.operation?.isFullyStaged == true)
        #expect(state.group(.a).slots.values.allSatisfy { $0.status == .trial })
        apply(.rolledBack(from: .a, to: .b, reason: "health"))
        #expect(state.primary == .b)
        #expect(state.group(.a).slots.values.allSatisfy { $0.status == .bad })
        #expect(state.last?.outcome == .rolledBack)
        #expect(state.installedSecurityVersion == 5)
        // An install that fails.
        apply(begin(.a, security: 6))
        #expect(state.operation?.isFullyStaged == false)
        apply(.failed(reason: "hash", failureClass: "bad-bundle"))
        #expect(state.operation == nil)
        #expect(state.last?.outcome == .failed)
        #expect(state.group(.a).slots.values.allSatisfy { $0.status == .bad })
        // Committing a lower security version never lowers the floor.
        for record in story(.a, security: 3) { apply(record) }
        #expect(state.primary == .a)
        #expect(state.installedSecurityVersion == 5)
        #expect(state.counters == DeviceState.Counters(installs: 4, commits: 2, rollbacks: 1, failures: 1))
    }
}
