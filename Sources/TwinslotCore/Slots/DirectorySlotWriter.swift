import SystemPackage

/// A directory slot receives a tar image. The tar is first spooled into a file beside the slot
/// (so nothing is extracted before the image's hash verified), then extracted through `Storage`
/// into the emptied slot directory from bytes hashed again as they are extracted, every file
/// and directory synced, and read back.
public final class DirectorySlotWriter: ImageSink {
    public let slot: FilePath
    let spoolPath: FilePath
    private let storage: any Storage
    private let spool: RawSlotWriter
    /// Which regular files (by path relative to the slot) get a SHA-512 too as they are written.
    private let alsoSHA512: (String) -> Bool
    /// Every regular file extracted, in tar order: the read-back compares the medium with it,
    /// and the OCI layout check uses its hashes instead of reading the blobs again.
    private(set) var extracted: [ExtractedFile] = []

    struct ExtractedFile {
        var path: FilePath
        /// The path relative to the slot, as `ImageTarRules` admitted it (`blobs/sha256/…`).
        var relative: String
        var sha256: String
        var sha512: String?
        var size: UInt64
    }

    public init(
        storage: any Storage, slot: FilePath, size: UInt64, alsoSHA512: @escaping (String) -> Bool = { _ in false }
    )
        throws
    {
        self.storage = storage
        self.slot = slot
        self.alsoSHA512 = alsoSHA512
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

    /// Extracts the spooled tar into the slot and makes it durable. The spool is read once:
    /// every byte the extractor consumes is hashed on the way, and the whole must be the `size`
    /// bytes of SHA-256 `sha256` that the pipeline hashed (and the manifest signed) while they
    /// were spooled, or nothing here counts: a spool the medium changed in between is an I/O
    /// error, never an image installed unverified. `member` names the image in refusals; the
    /// entries are checked by `ImageTarRules`, exactly as `bundle verify` checks them.
    public func finish(size: UInt64, sha256: String, member: String) throws {
        try spool.finish(size: size)
        try spool.close()
        try storage.removeTree(slot)
        try storage.makeDirectory(slot)
        let source = HashingByteSource(try StorageByteSource(storage: storage, path: spoolPath))
        var directories: [FilePath] = [slot]
        do {
            try ImageTarRules.walk(source: source, member: member) { [self] entry, relative, reader in
                if relative.isEmpty { return }
                let target = slot.appending(relative)
                switch entry.kind {
                case .directory:
                    try storage.makeDirectory(target)
                    try storage.setPermissions(target, entry.mode & 0o1777)
                    directories.append(target)
                case .regular:
                    let file = try storage.open(target, create: true)
                    let hasher = SHA256Hasher()
                    let sha512 = alsoSHA512(relative) ? DigestHasher(.sha512) : nil
                    var offset: UInt64 = 0
                    while let block = try reader.nextBlock() {
                        try file.write(block, at: offset)
                        hasher.update(block)
                        sha512?.update(block)
                        offset += UInt64(block.count)
                    }
                    try file.truncate(to: offset)
                    try file.sync()
                    try file.close()
                    // Before the directory syncs below: an app's executables keep their bits.
                    try storage.setPermissions(target, entry.mode & 0o7777 & ~0o6000)
                    extracted.append(
                        ExtractedFile(
                            path: target, relative: relative, sha256: hasher.finalize(), sha512: sha512?.finalize(),
                            size: offset))
                case .symlink(let linkTarget):
                    try storage.makeSymlink(at: target, pointingTo: linkTarget)
                default:
                    // ImageTarRules admits nothing else.
                    throw BundleError.imageEntry(member: member, entry: entry.name, reason: "unsupported file type")
                }
            }
        } catch {
            // A spool that changed under us explains a broken tar better than the tar does.
            try checkSpool(source, size: size, sha256: sha256, draining: true)
            throw error
        }
        try checkSpool(source, size: size, sha256: sha256, draining: false)
        for directory in directories.reversed() { try storage.syncDirectory(directory) }
        try storage.syncDirectory(slot.removingLastComponent())
    }

    /// The spool as the extractor read it must be the image the pipeline hashed.
    private func checkSpool(_ source: HashingByteSource, size: UInt64, sha256: String, draining: Bool) throws {
        if draining { try source.drain() }
        let actual = source.hasher.finalize()
        guard source.count == size, actual == sha256 else {
            throw SlotError.readBackMismatch(slot: spoolPath.string, expected: sha256, actual: actual)
        }
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

/// A byte source that hashes and counts what is read through it.
final class HashingByteSource: ByteSource {
    private let inner: any ByteSource
    let hasher = SHA256Hasher()
    private(set) var count: UInt64 = 0
    var name: String { inner.name }

    init(_ inner: any ByteSource) { self.inner = inner }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let n = try inner.read(into: buffer)
        hasher.update(UnsafeRawBufferPointer(rebasing: buffer[..<n]))
        count += UInt64(n)
        return n
    }

    /// Reads (and hashes) the rest.
    func drain() throws {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 4096)
        defer { buffer.deallocate() }
        while try read(into: buffer) > 0 {}
    }
}
