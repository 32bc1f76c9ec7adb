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
    /// Test-only: called right after a record is durable, so a process-kill test can stop the
    /// binary exactly at a phase boundary (the CLI sets it from `TWINSLOT_TEST_STOP_AFTER`).
    nonisolated(unsafe) public static var afterDurableAppend: ((JournalRecord) -> Void)?
    /// Compact once the journal is larger than this after an operation ended.
    public var compactionThreshold: UInt64 = 64 << 10

    public let storage: any Storage
    public let directory: FilePath
    public private(set) var state = DeviceState()
    public private(set) var entries: [JournalEntry] = []
    private var end: UInt64 = 0
    private var recovered = false

    public init(storage: any Storage, directory: FilePath) {
        self.storage = storage
        self.directory = directory
    }

    var path: FilePath { directory.appending(Self.fileName) }
    var snapshotPath: FilePath { directory.appending(Self.snapshotName) }

    /// Reads the snapshot and the journal, cuts a torn or corrupt tail (durably), and replays.
    @discardableResult
    public func recover() throws -> RecoveryReport {
        try storage.makeDirectory(directory)
        let (snapshot, parsed, report) = try Self.load(storage: storage, directory: directory)
        if report.cutBytes > 0 {
            let file = try storage.open(path, create: false)
            defer { try? file.close() }
            try file.truncate(to: parsed.validLength)
            try file.sync()
        }
        entries = parsed.entries
        end = parsed.validLength
        state = DeviceState.replay(snapshot: snapshot, entries: entries)
        recovered = true
        return report
    }

    /// The state as the journal describes it, without writing anything (for `status`).
    public static func readState(storage: any Storage, directory: FilePath) throws -> (DeviceState, RecoveryReport) {
        let (snapshot, parsed, report) = try load(storage: storage, directory: directory)
        return (DeviceState.replay(snapshot: snapshot, entries: parsed.entries), report)
    }

    struct Parsed {
        var entries: [JournalEntry]
        var validLength: UInt64
    }

    private static func load(storage: any Storage, directory: FilePath) throws -> (
        DeviceState?, Parsed, RecoveryReport
    ) {
        var snapshot: DeviceState?
        if let bytes = try storage.readFile(directory.appending(snapshotName)) {
            do {
                snapshot = try JSONDecoder.journal.decode(DeviceState.self, from: Data(bytes))
            } catch {
                throw JournalError.corruptSnapshot(path: directory.appending(snapshotName).string, detail: "\(error)")
            }
        }
        let bytes = try storage.readFile(directory.appending(fileName)) ?? []
        let (parsed, reason) = try parse(bytes)
        let replayed = parsed.entries.filter { $0.sequence > (snapshot?.lastSequence ?? 0) }.count
        let report = RecoveryReport(
            records: replayed, cutBytes: UInt64(bytes.count) - parsed.validLength, cutReason: reason)
        return (snapshot, parsed, report)
    }

    /// Walks frames from the start and stops at the first that is short, has a bad magic,
    /// length or CRC, does not decode, or breaks the sequence: that frame and all after it are
    /// the torn tail.
    static func parse(_ bytes: [UInt8]) throws -> (Parsed, String?) {
        var offset = 0
        var entries: [JournalEntry] = []
        var previous: UInt64?
        func stop(_ why: String) -> (Parsed, String?) {
            (Parsed(entries: entries, validLength: UInt64(offset)), "at byte \(offset): \(why)")
        }
        while offset < bytes.count {
            guard bytes.count - offset >= headerSize else { return stop("short frame header") }
            guard Array(bytes[offset..<offset + 4]) == magic else { return stop("bad frame magic") }
            let length = Int(readLE(bytes, offset + 4, 4))
            let sequence = readLE(bytes, offset + 8, 8)
            let crc = UInt32(readLE(bytes, offset + 16, 4))
            guard length <= maxPayload else { return stop("frame length \(length) is too large") }
            guard bytes.count - offset - headerSize >= length else { return stop("frame payload is short") }
            let payload = bytes[(offset + headerSize)..<(offset + headerSize + length)]
            let computed = CRC32C.checksum(payload, continuing: CRC32C.checksum(bytes[(offset + 4)..<(offset + 16)]))
            guard computed == crc else { return stop("CRC mismatch") }
            if let previous, sequence != previous + 1 {
                return stop("sequence \(sequence) does not follow \(previous)")
            }
            // A frame whose CRC holds was written whole: a torn write cannot produce it. If it
            // does not decode it is a committed record this twinslot does not understand (a
            // newer version wrote it): cutting it would lose it, so recovery refuses instead.
            guard let entry = try? JSONDecoder.journal.decode(JournalEntry.self, from: Data(payload)),
                entry.sequence == sequence
            else {
                throw JournalError.undecodableRecord(offset: offset, sequence: sequence)
            }
            entries.append(entry)
            previous = sequence
            offset += headerSize + length
        }
        return (Parsed(entries: entries, validLength: UInt64(offset)), nil)
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
        state.apply(entry)
        if state.operation == nil && end > compactionThreshold { try compact() }
        Self.afterDurableAppend?(record)
    }

    /// Writes the state as a snapshot (temp, fsync, rename, directory fsync), then empties the
    /// journal. A crash between the two leaves records the snapshot already holds; replay skips
    /// them by sequence number.
    public func compact() throws {
        if !recovered { try recover() }
        try storage.replaceFile(snapshotPath, with: Array(try JSONEncoder.journal.encode(state)))
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

    public var failureClass: FailureClass { .state }

    public var description: String {
        switch self {
        case .undecodableRecord(let offset, let sequence):
            "journal record \(sequence) at byte \(offset) is intact but unknown to this twinslot (written by a newer "
                + "version?); refusing to cut it. Install a twinslot that reads it"
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
