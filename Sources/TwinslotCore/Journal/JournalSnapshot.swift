import SystemPackage

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The state checkpoint, kept in two copies (`journal.snapshot`, `journal.snapshot.2`), each
/// with its own CRC-32C, so that one bad sector in one of them, or a torn replacement, leaves
/// the other. Written whole (temp, fsync, rename, directory fsync) at every operation's end into
/// the older copy, and into both before a compaction empties the journal. What it buys
/// (docs/crash-safety.md, "Media faults"): a damaged frame in the middle of the journal that
/// the newest checkpoint covers loses nothing.
///
/// A copy: the JSON of `DeviceState`, a newline, `#crc32c=` and 8 lowercase hex digits of the
/// JSON's CRC-32C, a newline. A copy without the trailer (written before 0.3) is read as JSON.
enum JournalSnapshot {
    static let names = ["journal.snapshot", "journal.snapshot.2"]
    static let trailerPrefix = Array("\n#crc32c=".utf8)

    /// What one copy held.
    enum Copy {
        case missing
        case valid(DeviceState)
        case damaged(String)
    }

    static func encode(_ state: DeviceState) -> [UInt8] {
        let json = Array(try! JSONEncoder.journal.encode(state))
        let crc = String(CRC32C.checksum(json[...]), radix: 16)
        return json + trailerPrefix + Array((String(repeating: "0", count: 8 - crc.count) + crc + "\n").utf8)
    }

    static func decode(_ bytes: [UInt8]) -> Copy {
        var json = bytes[...]
        if bytes.count >= trailerPrefix.count + 9,
            Array(bytes[(bytes.count - 18)..<(bytes.count - 9)]) == trailerPrefix
        {
            json = bytes[..<(bytes.count - 18)]
            let written = String(decoding: bytes[(bytes.count - 9)..<(bytes.count - 1)], as: UTF8.self)
            guard UInt32(written, radix: 16) == CRC32C.checksum(json) else { return .damaged("CRC mismatch") }
        }
        do {
            return .valid(try JSONDecoder.journal.decode(DeviceState.self, from: Data(json)))
        } catch {
            return .damaged("\(error)")
        }
    }

    static func read(storage: any Storage, directory: FilePath) throws -> [Copy] {
        try names.map { name in
            guard let bytes = try storage.readFile(directory.appending(name)) else { return .missing }
            return decode(bytes)
        }
    }

    /// The newest valid copy; nil when there is none at all. Damaged copies with no valid one
    /// beside them are an error: the history they held is gone, and guessing would be worse.
    static func newest(_ copies: [Copy], directory: FilePath) throws -> DeviceState? {
        var best: DeviceState?
        var damaged: [String] = []
        for (name, copy) in zip(names, copies) {
            switch copy {
            case .missing: continue
            case .valid(let state): if state.lastSequence >= best?.lastSequence ?? 0 { best = state }
            case .damaged(let why): damaged.append("\(name): \(why)")
            }
        }
        if best == nil, !damaged.isEmpty {
            throw JournalError.corruptSnapshot(
                path: directory.appending(names[0]).string, detail: damaged.joined(separator: "; "))
        }
        return best
    }

    /// Writes `state` into the copy that holds the older (or no, or a damaged) state.
    static func writeOlderCopy(_ state: DeviceState, copies: [Copy], storage: any Storage, directory: FilePath)
        throws
    {
        func sequence(_ copy: Copy) -> UInt64 {
            if case .valid(let state) = copy { return state.lastSequence }
            return 0
        }
        let index = sequence(copies[0]) <= sequence(copies[1]) ? 0 : 1
        try storage.replaceFile(directory.appending(names[index]), with: encode(state))
    }

    static func writeBoth(_ state: DeviceState, storage: any Storage, directory: FilePath) throws {
        for name in names { try storage.replaceFile(directory.appending(name), with: encode(state)) }
    }
}
