import SystemPackage

/// Copies a slot of the running group into the same class's slot of the target group: how a
/// partial bundle's install fills the classes the bundle does not carry, so the flip boots the
/// running group's content there rather than whatever an older update left behind.
///
/// Both copies go through `Storage` with the guarantees of an image write: everything written is
/// synced, then read back from the medium and compared with the source. A directory is copied
/// file by file, never hardlinked: a hardlinked file written through the live tree would change
/// the fallback group too. Each file is a reflink (FICLONE) where the file system can share its
/// blocks copy-on-write, else a copy of its bytes; verified the same way either way.
public enum SlotCopier {
    /// What the target slot holds after a copy: for a raw slot, the SHA-256 and size of the bytes
    /// copied; for a directory, `TreeListing.digest` and the bytes of its regular files.
    public struct Copied: Sendable, Equatable {
        public var sha256: String
        public var size: UInt64
    }

    static let blockSize = 1 << 20

    /// Copies the first `size` bytes of the raw slot `source` (all of it when nil: a slot
    /// twinslot never wrote, a factory image) into `target`, hashing them as they are read.
    /// `expectedSHA256`, the hash the journal recorded for the source, must match: a running
    /// slot that is not what the journal says is refused, never propagated into the update.
    public static func copyRaw(
        storage: any Storage, from source: FilePath, to target: FilePath, size: UInt64?, expectedSHA256: String?
    ) throws -> Copied {
        let input = try storage.openForReading(source)
        defer { try? input.close() }
        let length = try size ?? input.size()
        let writer = try RawSlotWriter(storage: storage, path: target, size: length)
        defer { try? writer.close() }
        let hasher = SHA256Hasher()
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: blockSize, alignment: 4096)
        defer { buffer.deallocate() }
        var offset: UInt64 = 0
        while offset < length {
            let want = Int(min(UInt64(buffer.count), length - offset))
            let n = try input.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[..<want]), at: offset)
            guard n > 0 else { throw SlotError.shortRead(slot: source.string, expected: length, got: offset) }
            let chunk = UnsafeRawBufferPointer(rebasing: buffer[..<n])
            hasher.update(chunk)
            try writer.write(chunk, at: offset)
            offset += UInt64(n)
        }
        let sha256 = hasher.finalize()
        if let expectedSHA256, expectedSHA256 != sha256 {
            throw SlotError.sourceMismatch(slot: source.string, recorded: expectedSHA256, actual: sha256)
        }
        try writer.finish(size: length)
        try writer.verifyReadBack(size: length, sha256: sha256)
        return Copied(sha256: sha256, size: length)
    }

    /// Replaces the directory slot `target` with a copy of the tree `source` (regular files,
    /// directories and symlinks, with their permission bits; set-id bits dropped as an image's
    /// are), syncs every file and directory, then lists both trees again from the medium and
    /// requires them equal entry by entry.
    public static func copyTree(storage: any Storage, from source: FilePath, to target: FilePath) throws -> Copied {
        guard storage.fileKind(source) == .directory else { throw SlotError.missing(slot: source.string) }
        try storage.removeTree(target)
        try storage.makeDirectory(target)
        var directories: [FilePath] = [target]
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: blockSize, alignment: 4096)
        defer { buffer.deallocate() }
        try copyChildren(storage, source, target, buffer, &directories)
        for directory in directories.reversed() { try storage.syncDirectory(directory) }
        try storage.syncDirectory(target.removingLastComponent())

        let copied = try TreeListing(storage: storage, root: target)
        let original = try TreeListing(storage: storage, root: source)
        if let entry = original.firstDifference(from: copied) {
            throw SlotError.copyMismatch(slot: target.string, source: source.string, entry: entry)
        }
        return Copied(sha256: copied.digest, size: copied.fileBytes)
    }

    private static func copyChildren(
        _ storage: any Storage, _ source: FilePath, _ target: FilePath, _ buffer: UnsafeMutableRawBufferPointer,
        _ directories: inout [FilePath]
    ) throws {
        for name in try storage.directoryEntries(source) {
            let from = source.appending(name)
            let to = target.appending(name)
            switch storage.fileKind(from) {
            case .directory:
                try storage.makeDirectory(to)
                if let mode = storage.permissions(from) {
                    try storage.setPermissions(to, TreeListing.mask(mode, .directory))
                }
                directories.append(to)
                try copyChildren(storage, from, to, buffer, &directories)
            case .regular:
                try copyFile(storage, from, to, buffer)
                if let mode = storage.permissions(from) {
                    try storage.setPermissions(to, TreeListing.mask(mode, .regular(size: 0)))
                }
            case .symlink:
                guard let link = try storage.readSymlink(from) else { throw SlotError.missing(slot: from.string) }
                try storage.makeSymlink(at: to, pointingTo: link)
            default:
                throw SlotError.cannotCopy(
                    slot: source.string, entry: name, reason: "neither a regular file, a directory nor a symlink")
            }
        }
    }

    private static func copyFile(
        _ storage: any Storage, _ from: FilePath, _ to: FilePath, _ buffer: UnsafeMutableRawBufferPointer
    ) throws {
        let input = try storage.openForReading(from)
        defer { try? input.close() }
        // Closed at deinit if a write fails; explicitly once it is synced.
        let output = try storage.open(to, create: true)
        // A reflink shares the blocks copy-on-write: a later write through either tree changes
        // only that tree, exactly as after a copy (a hardlink would change both).
        if output.cloneContents(of: input) {
            try output.sync()
            try output.close()
            return
        }
        var offset: UInt64 = 0
        while true {
            let n = try input.read(into: buffer, at: offset)
            if n == 0 { break }
            try output.write(UnsafeRawBufferPointer(rebasing: buffer[..<n]), at: offset)
            offset += UInt64(n)
        }
        try output.truncate(to: offset)
        try output.sync()
        try output.close()
    }
}
