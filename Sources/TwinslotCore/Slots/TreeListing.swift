import SystemPackage

/// A directory tree as the medium holds it: every entry's type, permission bits and, for a
/// regular file, the SHA-256 and size of its content (read with its cached pages dropped). Two
/// listings are equal exactly when the trees are, which is how a copied directory slot is
/// verified against the running one.
public struct TreeListing: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        case directory
        case file(sha256: String, size: UInt64)
        case symlink(target: String)
    }

    public struct Entry: Sendable, Equatable {
        public var kind: Kind
        /// Masked as a copy sets them (nil where the storage keeps no permission bits).
        public var mode: UInt32?
    }

    /// Relative path → entry.
    public private(set) var entries: [String: Entry] = [:]

    public init(storage: any Storage, root: FilePath) throws {
        try walk(storage, root, "")
    }

    private mutating func walk(_ storage: any Storage, _ directory: FilePath, _ relative: String) throws {
        for name in try storage.directoryEntries(directory) {
            let path = directory.appending(name)
            let key = relative.isEmpty ? name : relative + "/" + name
            let mode = storage.permissions(path)
            switch storage.fileKind(path) {
            case .directory:
                entries[key] = Entry(kind: .directory, mode: mode.map { Self.mask($0, .directory) })
                try walk(storage, path, key)
            case .regular(let size):
                let file = try storage.openForReading(path)
                defer { try? file.close() }
                file.dropCache()
                let sha256 = try RawSlotWriter.hash(file: file, size: size)
                entries[key] = Entry(
                    kind: .file(sha256: sha256, size: size), mode: mode.map { Self.mask($0, .regular(size: 0)) })
            case .symlink:
                entries[key] = Entry(kind: .symlink(target: try storage.readSymlink(path) ?? ""), mode: nil)
            default:
                throw SlotError.cannotCopy(
                    slot: directory.string, entry: name, reason: "neither a regular file, a directory nor a symlink")
            }
        }
    }

    /// The permission bits a copy gives an entry: a directory keeps its sticky bit, a file its
    /// execute bits; set-user-id and set-group-id are dropped, as extracting an image drops them.
    static func mask(_ mode: UInt32, _ kind: FileKind) -> UInt32 {
        kind == .directory ? mode & 0o1777 : mode & 0o7777 & ~0o6000
    }

    /// The first entry (sorted) that differs between the two listings, or nil when they are equal.
    public func firstDifference(from other: TreeListing) -> String? {
        let names = Set(entries.keys).union(other.entries.keys).sorted()
        return names.first { entries[$0] != other.entries[$0] }
    }

    /// The bytes of all regular files.
    public var fileBytes: UInt64 {
        entries.values.reduce(0) { total, entry in
            if case .file(_, let size) = entry.kind { return total + size }
            return total
        }
    }

    /// The SHA-256 of the listing, one line per entry in sorted order ("path\0type\0mode\0detail\n"):
    /// what the journal records for a copied directory slot whose source twinslot never wrote.
    public var digest: String {
        let hasher = SHA256Hasher()
        for name in entries.keys.sorted() {
            let entry = entries[name]!
            let detail: String
            switch entry.kind {
            case .directory: detail = "d"
            case .file(let sha256, let size): detail = "f\0\(size)\0\(sha256)"
            case .symlink(let target): detail = "l\0\(target)"
            }
            let mode = entry.mode.map { String($0, radix: 8) } ?? "-"
            hasher.update(Array("\(name)\0\(mode)\0\(detail)\n".utf8))
        }
        return hasher.finalize()
    }
}
