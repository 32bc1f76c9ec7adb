import SystemPackage

/// A directory slot receives a tar image. The tar is first spooled into a file beside the slot
/// (so nothing is extracted before the image's hash verified), then extracted through `Storage`
/// into the emptied slot directory, every file and directory synced, and read back.
public final class DirectorySlotWriter: ImageSink {
    public let slot: FilePath
    let spoolPath: FilePath
    private let storage: any Storage
    private let spool: RawSlotWriter
    /// The hash of each extracted file, to compare with what the medium returns.
    private var extracted: [(path: FilePath, sha256: String, size: UInt64)] = []

    public init(storage: any Storage, slot: FilePath, size: UInt64) throws {
        self.storage = storage
        self.slot = slot
        guard let parent = Optional(slot.removingLastComponent()), storage.fileKind(parent) == .directory else {
            throw SlotError.missing(slot: slot.string)
        }
        spoolPath = FilePath(slot.string + ".image.tar")
        // The spool is this writer's own scratch file (a raw slot is never created, the spool is).
        try storage.open(spoolPath, create: true).close()
        spool = try RawSlotWriter(storage: storage, path: spoolPath, size: size)
    }

    public func write(_ bytes: UnsafeRawBufferPointer, at offset: UInt64) throws {
        try spool.write(bytes, at: offset)
    }

    /// Extracts the verified tar into the slot and makes it durable.
    public func finish(size: UInt64) throws {
        try spool.finish(size: size)
        try spool.close()
        try storage.removeTree(slot)
        try storage.makeDirectory(slot)
        let reader = try TarStreamReader(source: try StorageByteSource(storage: storage, path: spoolPath))
        var directories: [FilePath] = [slot]
        var symlinks: Set<String> = []
        while let entry = try reader.nextEntry() {
            let relative = try Self.safeRelativePath(entry.name, slot: slot)
            if relative.isEmpty { continue }
            let target = slot.appending(relative)
            // A symlink in the image must never redirect a later entry outside the slot.
            var prefix = ""
            for component in relative.split(separator: "/") {
                prefix += prefix.isEmpty ? String(component) : "/" + component
                if symlinks.contains(prefix) {
                    throw SlotError.unsafeEntry(
                        slot: slot.string, entry: entry.name, reason: "path goes through a symlink")
                }
            }
            if storage.fileKind(target) != nil && entry.kind != .directory {
                throw SlotError.unsafeEntry(slot: slot.string, entry: entry.name, reason: "appears twice")
            }
            switch entry.kind {
            case .directory:
                try storage.makeDirectory(target)
                try storage.setPermissions(target, entry.mode & 0o1777)
                directories.append(target)
            case .regular:
                let file = try storage.open(target, create: true)
                let hasher = SHA256Hasher()
                var offset: UInt64 = 0
                while let block = try reader.nextBlock() {
                    try file.write(block, at: offset)
                    hasher.update(block)
                    offset += UInt64(block.count)
                }
                try file.truncate(to: offset)
                try file.sync()
                try file.close()
                // Before the directory syncs below: an app's executables keep their bits.
                try storage.setPermissions(target, entry.mode & 0o7777 & ~0o6000)
                extracted.append((target, hasher.finalize(), offset))
            case .symlink(let linkTarget):
                try storage.makeSymlink(at: target, pointingTo: linkTarget)
                symlinks.insert(relative)
            default:
                throw SlotError.unsafeEntry(slot: slot.string, entry: entry.name, reason: "unsupported file type")
            }
        }
        for directory in directories.reversed() { try storage.syncDirectory(directory) }
        try storage.syncDirectory(slot.removingLastComponent())
    }

    /// Re-reads every extracted file from the medium and compares it with what was written.
    public func verifyReadBack() throws {
        for item in extracted {
            let file = try storage.openForReading(item.path)
            defer { try? file.close() }
            file.dropCache()
            let actual = try RawSlotWriter.hash(file: file, size: item.size)
            guard actual == item.sha256, try file.size() == item.size else {
                throw SlotError.readBackMismatch(slot: item.path.string, expected: item.sha256, actual: actual)
            }
        }
        try storage.remove(spoolPath)
        try storage.syncDirectory(spoolPath.removingLastComponent())
    }

    /// Tar entry names become paths strictly below the slot: no absolute names, no `..`.
    static func safeRelativePath(_ name: String, slot: FilePath) throws -> String {
        var components: [Substring] = []
        for component in name.split(separator: "/", omittingEmptySubsequences: true) {
            if component == "." { continue }
            if component == ".." {
                throw SlotError.unsafeEntry(slot: slot.string, entry: name, reason: "contains '..'")
            }
            components.append(component)
        }
        if name.hasPrefix("/") {
            throw SlotError.unsafeEntry(slot: slot.string, entry: name, reason: "absolute path")
        }
        return components.joined(separator: "/")
    }
}

/// Reads a file through `Storage` as a byte source.
final class StorageByteSource: ByteSource {
    let name: String
    private let file: any StorageFile
    private var offset: UInt64 = 0

    init(storage: any Storage, path: FilePath) throws {
        name = path.string
        file = try storage.openForReading(path)
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let n = try file.read(into: buffer, at: offset)
        offset += UInt64(n)
        return n
    }
}
