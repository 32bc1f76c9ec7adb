import CSystemd
import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// Where twinslot's log goes: journald's native protocol when stderr is the journal (a unit's
/// `StandardError=journal`, systemd's default), plain lines on stderr otherwise. systemd tells a
/// service its stderr is the journal with `JOURNAL_STREAM=<device>:<inode>` (systemd.exec(5));
/// the variable alone is not enough, since a child whose stderr was redirected inherits it.
public enum LogDestination: Equatable, Sendable {
    case journal
    case stderr

    /// `journalStream` is `$JOURNAL_STREAM`; `device` and `inode` are fstat(2) of stderr.
    public static func choose(journalStream: String?, device: UInt64?, inode: UInt64?) -> LogDestination {
        guard let journalStream, let device, let inode else { return .stderr }
        let parts = journalStream.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, let wantDevice = UInt64(parts[0]), let wantInode = UInt64(parts[1]) else {
            return .stderr
        }
        return wantDevice == device && wantInode == inode ? .journal : .stderr
    }

    /// The destination of this process, from its environment and its stderr.
    public static func detect() -> LogDestination {
        var status = stat()
        guard fstat(STDERR_FILENO, &status) == 0 else { return .stderr }
        return choose(
            journalStream: getenv("JOURNAL_STREAM").map { String(cString: $0) }, device: UInt64(status.st_dev),
            inode: UInt64(status.st_ino))
    }
}

/// A swift-log handler writing one structured journald entry per log call with
/// sd_journal_sendv(3): MESSAGE, PRIORITY, SYSLOG_IDENTIFIER=twinslot, CODE_FILE/LINE/FUNC, and
/// every metadata key as a TWINSLOT_* field (`operation-id` becomes TWINSLOT_OPERATION_ID), so an
/// operator can `journalctl TWINSLOT_OPERATION_ID=…` one install across the CLI and both boot
/// units. With `Destination.stderr` the same entry is one plain line on stderr.
public struct JournalLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    public var logLevel: Logger.Level
    public let label: String
    public let destination: LogDestination

    public init(label: String, destination: LogDestination, logLevel: Logger.Level = .info) {
        self.label = label
        self.destination = destination
        self.logLevel = logLevel
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { _, new in new } }
        if let own = event.metadata { merged.merge(own) { _, new in new } }
        switch destination {
        case .journal:
            let fields = Self.journalFields(
                level: event.level, message: "\(event.message)", metadata: merged, file: event.file,
                function: event.function, line: event.line)
            Self.send(fields)
        case .stderr:
            let line = Self.plainLine(level: event.level, message: "\(event.message)", metadata: merged)
            var bytes = Array(line.utf8)
            _ = bytes.withUnsafeMutableBytes { write(STDERR_FILENO, $0.baseAddress, $0.count) }
        }
    }

    /// syslog(3) priorities, as journald files them (`journalctl -p`).
    public static func priority(_ level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: 7
        case .info: 6
        case .notice: 5
        case .warning: 4
        case .error: 3
        case .critical: 2
        }
    }

    /// A metadata key as a journal field name: journald accepts only A–Z, 0–9 and `_`, not
    /// starting with `_` (reserved for trusted fields), at most 64 characters.
    public static func fieldName(_ key: String) -> String {
        let mapped = key.uppercased().unicodeScalars.map { scalar -> Character in
            ("A"..."Z").contains(scalar) || ("0"..."9").contains(scalar) ? Character(scalar) : "_"
        }
        return String(("TWINSLOT_" + String(mapped)).prefix(64))
    }

    /// The entry's fields as `NAME=value` strings, in the order sd_journal_sendv receives them.
    public static func journalFields(
        level: Logger.Level, message: String, metadata: Logger.Metadata, file: String, function: String, line: UInt
    ) -> [String] {
        var fields = [
            "MESSAGE=\(message)", "PRIORITY=\(priority(level))", "SYSLOG_IDENTIFIER=twinslot",
            "CODE_FILE=\(file)", "CODE_LINE=\(line)", "CODE_FUNC=\(function)",
        ]
        for key in metadata.keys.sorted() { fields.append("\(fieldName(key))=\(metadata[key]!)") }
        return fields
    }

    /// `twinslot: notice: image staged | phase=staged slot=B`: the message, then its metadata as
    /// space-separated `key=value` words (scripts split them).
    public static func plainLine(level: Logger.Level, message: String, metadata: Logger.Metadata) -> String {
        let pairs = metadata.keys.sorted().map { "\($0)=\(metadata[$0]!)" }.joined(separator: " ")
        return "twinslot: \(level): \(message)" + (pairs.isEmpty ? "" : " | \(pairs)") + "\n"
    }

    /// Values may hold newlines: sd_journal_sendv then uses the protocol's binary form. The
    /// fields sit in one buffer, each vector pointing at its slice.
    static func send(_ fields: [String]) {
        var buffer: [UInt8] = []
        var ranges: [Range<Int>] = []
        for field in fields {
            let start = buffer.count
            buffer.append(contentsOf: field.utf8)
            ranges.append(start..<buffer.count)
        }
        buffer.withUnsafeMutableBytes { raw in
            let vectors = ranges.map { iovec(iov_base: raw.baseAddress! + $0.lowerBound, iov_len: $0.count) }
            _ = sd_journal_sendv(vectors, Int32(vectors.count))
        }
    }
}
