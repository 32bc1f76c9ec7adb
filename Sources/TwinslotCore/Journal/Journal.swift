import Synchronization
import SystemPackage

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// What recovery found at the journal's tail.
public struct RecoveryReport: Sendable, Equatable, Codable {
    /// Valid records replayed (after the snapshot).
    public var records: Int
    /// Bytes cut from a torn or corrupt tail (0 when the journal was clean).
    public var cutBytes: UInt64
    /// Why the tail was cut, naming the offset.
    public var cutReason: String?
}

/// The append-only write-ahead journal, `<data>/journal`, and its compaction snapshot,
/// `<data>/journal.snapshot`. The frame format and the crash argument are in
/// docs/crash-safety.md.
///
/// A frame: `"TSJR"` | payload length (u32 LE) | sequence (u64 LE) | CRC-32C (u32 LE) of the
/// length, sequence and payload | payload (JSON of a `JournalEntry`).
public final class Journal {
    public static let fileName = "journal"
    public static let snapshotName = "journal.snapshot"
    static let magic: [UInt8] = Array("TSJR".utf8)
    static let headerSize = 20
    static let maxPayload = 1 << 20
    #if TWINSLOT_TEST_HOOKS
        /// Test-only, debug builds only: called right after a record is durable, so a
        /// process-kill test can stop the binary exactly at a phase boundary (the CLI sets it
        /// from `TWINSLOT_TEST_STOP_AFTER`). Behind a lock: journals append on several threads
        /// in the tests while a test may set it.
        public static let afterDurableAppend = Mutex<(@Sendable (JournalRecord) -> Void)?>(nil)
    #endif
    /// Compact once the journal is larger than this after an operation ended.
    public var compactionThreshold: UInt64 = 64 << 10

    public let storage: any Storage
    public let directory: FilePath
    public private(set) var state = DeviceState()
    public private(set) var entries: [JournalEntry] = []
    private var copies: [JournalSnapshot.Copy] = [.missing, .missing]
    private var end: UInt64 = 0
    private var recovered = false

    public init(storage: any Storage, directory: FilePath) {
        self.storage = storage
        self.directory = directory
    }

    var path: FilePath { directory.appending(Self.fileName) }

    /// Reads the checkpoints and the journal, cuts a torn tail (durably), and replays. A damaged
    /// frame with intact frames after it is not a tear: when the newest checkpoint covers every
    /// record lost in it, the journal is compacted from the salvaged state; otherwise recovery
    /// refuses (JournalError.damaged) and changes nothing. Committed history is never cut.
    @discardableResult
    public func recover() throws -> RecoveryReport {
        try storage.makeDirectory(directory)
        let loaded = try Self.load(storage: storage, directory: directory)
        copies = loaded.copies
        entries = loaded.parsed.entries
        end = loaded.parsed.validLength
        state = DeviceState.replay(snapshot: loaded.snapshot, entries: entries)
        recovered = true
        if loaded.parsed.salvaged {
            try compact()
        } else if loaded.report.cutBytes > 0 {
            let file = try storage.open(path, create: false)
            defer { try? file.close() }
            try file.truncate(to: loaded.parsed.validLength)
            try file.sync()
        }
        return loaded.report
    }

    /// The state as the journal describes it, without writing anything (for `status`).
    public static func readState(storage: any Storage, directory: FilePath) throws -> (DeviceState, RecoveryReport) {
        let loaded = try load(storage: storage, directory: directory)
        return (DeviceState.replay(snapshot: loaded.snapshot, entries: loaded.parsed.entries), loaded.report)
    }

    struct Parsed {
        var entries: [JournalEntry]
        /// Where the intact frames end (the torn tail, if any, starts here).
        var validLength: UInt64
        /// Frames were lost in the middle and the checkpoint covers them: rewrite the journal.
        var salvaged = false
    }

    struct Loaded {
        var snapshot: DeviceState?
        var copies: [JournalSnapshot.Copy]
        var parsed: Parsed
        var report: RecoveryReport
    }

    private static func load(storage: any Storage, directory: FilePath) throws -> Loaded {
        let copies = try JournalSnapshot.read(storage: storage, directory: directory)
        let snapshot = try JournalSnapshot.newest(copies, directory: directory)
        let bytes = try storage.readFile(directory.appending(fileName)) ?? []
        let (parsed, reason) = try parse(bytes, checkpoint: snapshot?.lastSequence ?? 0)
        let replayed = parsed.entries.filter { $0.sequence > (snapshot?.lastSequence ?? 0) }.count
        let report = RecoveryReport(
            records: replayed, cutBytes: parsed.salvaged ? 0 : UInt64(bytes.count) - parsed.validLength,
            cutReason: reason)
        return Loaded(snapshot: snapshot, copies: copies, parsed: parsed, report: report)
    }

    /// One frame at `offset`, if a whole, CRC-correct, decodable one starts there.
    private static func frame(in bytes: [UInt8], at offset: Int) throws -> (entry: JournalEntry, size: Int)? {
        guard bytes.count - offset >= headerSize, Array(bytes[offset..<offset + 4]) == magic else { return nil }
        let length = Int(readLE(bytes, offset + 4, 4))
        let sequence = readLE(bytes, offset + 8, 8)
        let crc = UInt32(readLE(bytes, offset + 16, 4))
        guard length <= maxPayload, bytes.count - offset - headerSize >= length else { return nil }
        let payload = bytes[(offset + headerSize)..<(offset + headerSize + length)]
        let computed = CRC32C.checksum(payload, continuing: CRC32C.checksum(bytes[(offset + 4)..<(offset + 16)]))
        guard computed == crc else { return nil }
        // A frame whose CRC holds was written whole: a torn write cannot produce it. If it does
        // not decode it is a committed record this twinslot does not understand (a newer
        // version wrote it): cutting it would lose it, so recovery refuses instead.
        guard let entry = try? JSONDecoder.journal.decode(JournalEntry.self, from: Data(payload)),
            entry.sequence == sequence
        else {
            throw JournalError.undecodableRecord(offset: offset, sequence: sequence)
        }
        return (entry, headerSize + length)
    }

    /// Walks frames from the start. At the first frame that is short, has a bad magic, length
    /// or CRC, or breaks the sequence, it looks for any intact frame further on: none means a
    /// torn tail (only the last append can tear); some means the medium damaged committed
    /// records, which are salvaged only if the checkpoint (`checkpoint`: its last sequence)
    /// covers every record missing between the two, and refused otherwise.
    static func parse(_ bytes: [UInt8], checkpoint: UInt64 = 0) throws -> (Parsed, String?) {
        var offset = 0
        var entries: [JournalEntry] = []
        var why: String?
        while offset < bytes.count {
            guard let (entry, size) = try frame(in: bytes, at: offset) else {
                why = "at byte \(offset): " + tornReason(bytes, offset)
                break
            }
            if let previous = entries.last?.sequence, entry.sequence != previous + 1 {
                why = "at byte \(offset): sequence \(entry.sequence) does not follow \(previous)"
                break
            }
            entries.append(entry)
            offset += size
        }
        guard let why else { return (Parsed(entries: entries, validLength: UInt64(offset)), nil) }
        // Intact frames after the damage, in file order.
        var later: [JournalEntry] = []
        var at = offset
        while at < bytes.count {
            if let (entry, size) = try frame(in: bytes, at: at),
                entry.sequence > (later.last?.sequence ?? entries.last?.sequence ?? 0)
            {
                later.append(entry)
                at += size
            } else {
                at += 1
            }
        }
        guard let first = later.first else { return (Parsed(entries: entries, validLength: UInt64(offset)), why) }
        // Every sequence missing between the intact frames must be inside the checkpoint.
        var expected = (entries.last?.sequence ?? checkpoint) + 1
        var lost: [ClosedRange<UInt64>] = []
        for entry in later {
            if entry.sequence > expected { lost.append(expected...(entry.sequence - 1)) }
            expected = entry.sequence + 1
        }
        if let uncovered = lost.first(where: { $0.upperBound > checkpoint }) {
            throw JournalError.damaged(offset: offset, lost: uncovered, resumesAt: first.sequence)
        }
        return (Parsed(entries: entries + later, validLength: UInt64(bytes.count), salvaged: true), why)
    }

    private static func tornReason(_ bytes: [UInt8], _ offset: Int) -> String {
        if bytes.count - offset < headerSize { return "short frame header" }
        if Array(bytes[offset..<offset + 4]) != magic { return "bad frame magic" }
        let length = Int(readLE(bytes, offset + 4, 4))
        if length > maxPayload { return "frame length \(length) is too large" }
        if bytes.count - offset - headerSize < length { return "frame payload is short" }
        return "CRC mismatch"
    }

    static func frame(_ entry: JournalEntry) -> [UInt8] {
        let payload = Array(try! JSONEncoder.journal.encode(entry))
        var header = magic
        appendLE(&header, UInt64(payload.count), 4)
        appendLE(&header, entry.sequence, 8)
        let crc = CRC32C.checksum(payload, continuing: CRC32C.checksum(header[4..<16]))
        appendLE(&header, UInt64(crc), 4)
        return header + payload
    }

    /// Appends a record and makes it durable before returning.
    public func append(_ record: JournalRecord) throws {
        if !recovered { try recover() }
        // Whole milliseconds, so the time reads back exactly as it was applied.
        let now = Date(timeIntervalSince1970: (Date().timeIntervalSince1970 * 1000).rounded() / 1000)
        let entry = JournalEntry(sequence: state.lastSequence + 1, time: now, record: record)
        let creating = storage.fileKind(path) == nil
        let file = try storage.open(path, create: true)
        defer { try? file.close() }
        let frame = Self.frame(entry)
        try file.write(frame, at: end)
        try file.sync()
        if creating { try storage.syncDirectory(directory) }
        end += UInt64(frame.count)
        entries.append(entry)
        let hadOperation = state.operation != nil
        state.apply(entry)
        if state.operation == nil && end > compactionThreshold {
            try compact()
        } else if hadOperation && state.operation == nil {
            // An operation ended: checkpoint it, so one damaged sector of the journal later
            // cannot take its outcome with it.
            try JournalSnapshot.writeOlderCopy(state, copies: copies, storage: storage, directory: directory)
            copies = try JournalSnapshot.read(storage: storage, directory: directory)
        }
        #if TWINSLOT_TEST_HOOKS
            if let hook = Self.afterDurableAppend.withLock({ $0 }) { hook(record) }
        #endif
    }

    /// Writes the state into both checkpoint copies (each temp, fsync, rename, directory fsync),
    /// then empties the journal. A crash between the two leaves records the checkpoints
    /// already hold; replay skips them by sequence number.
    public func compact() throws {
        if !recovered { try recover() }
        try JournalSnapshot.writeBoth(state, storage: storage, directory: directory)
        copies = [.valid(state), .valid(state)]
        let file = try storage.open(path, create: true)
        defer { try? file.close() }
        try file.truncate(to: 0)
        try file.sync()
        end = 0
        entries = []
    }
}

public enum JournalError: ClassifiedError, Equatable {
    case corruptSnapshot(path: String, detail: String)
    case undecodableRecord(offset: Int, sequence: UInt64)
    /// Intact records follow a damaged region that held records no checkpoint covers.
    case damaged(offset: Int, lost: ClosedRange<UInt64>, resumesAt: UInt64)

    public var failureClass: FailureClass { .state }

    public var description: String {
        switch self {
        case .undecodableRecord(let offset, let sequence):
            "journal record \(sequence) at byte \(offset) is intact but unknown to this twinslot (written by a newer "
                + "version?); refusing to cut it. Install a twinslot that reads it"
        case .damaged(let offset, let lost, let resumesAt):
            "the journal is damaged at byte \(offset): records \(lost.lowerBound)...\(lost.upperBound) are unreadable "
                + "while record \(resumesAt) after them is intact (a media fault, not a torn write), and no checkpoint "
                + "holds them. Nothing was cut; copy the data directory aside before repairing it"
        case .corruptSnapshot(let path, let detail):
            "the journal snapshot \(path) is unreadable (\(detail)); it is only ever replaced whole, so this is not a torn write"
        }
    }
}

private func readLE(_ bytes: [UInt8], _ offset: Int, _ count: Int) -> UInt64 {
    var value: UInt64 = 0
    for i in (0..<count).reversed() { value = value << 8 | UInt64(bytes[offset + i]) }
    return value
}

private func appendLE(_ bytes: inout [UInt8], _ value: UInt64, _ count: Int) {
    for i in 0..<count { bytes.append(UInt8(truncatingIfNeeded: value >> (8 * UInt64(i)))) }
}

extension JSONEncoder {
    static var journal: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .millisecondsSince1970
        return encoder
    }
}

extension JSONDecoder {
    static var journal: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .millisecondsSince1970
        return decoder
    }
}
