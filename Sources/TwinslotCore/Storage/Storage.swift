import SystemPackage

/// Every durable write of the engine goes through this interface, so that a test can cut the
/// power between any two operations (TwinslotSim's fault-injecting storage implements it too).
///
/// The crash model it is designed against: a write is durable only after `sync()` of its file;
/// a rename, creation, removal or symlink is durable only after `syncDirectory` of its parent.
public protocol Storage: Sendable {
    /// Opens (and with `create`, creates) a regular file or block device for reading and writing.
    func open(_ path: FilePath, create: Bool) throws -> any StorageFile
    /// Opens an existing file read-only.
    func openForReading(_ path: FilePath) throws -> any StorageFile
    /// The whole content of a small file, or nil when it does not exist.
    func readFile(_ path: FilePath) throws -> [UInt8]?
    func rename(_ source: FilePath, to destination: FilePath) throws
    func syncDirectory(_ path: FilePath) throws
    /// Removes a file, a symlink or an empty directory; absent is not an error.
    func remove(_ path: FilePath) throws
    /// Removes a directory tree; absent is not an error.
    func removeTree(_ path: FilePath) throws
    /// Creates a directory and its missing parents.
    func makeDirectory(_ path: FilePath) throws
    func makeSymlink(at path: FilePath, pointingTo target: String) throws
    func readSymlink(_ path: FilePath) throws -> String?
    func fileKind(_ path: FilePath) -> FileKind?
    /// Sets a file's or directory's permission bits (durable with its directory's next sync).
    func setPermissions(_ path: FilePath, _ mode: UInt32) throws
    /// The names in a directory, sorted.
    func directoryEntries(_ path: FilePath) throws -> [String]
    /// A file's or directory's permission bits (symlinks not followed); nil where the storage
    /// keeps none (the simulator's model) or the path does not exist.
    func permissions(_ path: FilePath) -> UInt32?
}

extension Storage {
    public func permissions(_ path: FilePath) -> UInt32? { nil }
}

extension Storage {
    /// The path with every symlink in its last component followed (a stable device name such as
    /// /dev/disk/by-partlabel/rootfs-b becomes /dev/vda3), `..` and `.` folded. Symlinks in the
    /// directories above are left to the kernel. A loop of more than 40 links is an error.
    public func resolvingSymlinks(_ path: FilePath) throws -> FilePath {
        var current = path.lexicallyNormalized()
        for _ in 0..<40 {
            guard fileKind(current) == .symlink, let target = try readSymlink(current) else { return current }
            let next = FilePath(target)
            current = (next.isAbsolute ? next : current.removingLastComponent().pushing(next)).lexicallyNormalized()
        }
        throw StorageError("resolve symlinks", path, errno: .tooManySymbolicLinkLevels)
    }
}

public enum FileKind: Sendable, Equatable {
    case regular(size: UInt64)
    case directory
    case symlink
    case blockDevice
    case other
}

/// An open file. It is owned by one caller and closed exactly once, by `close()` or at deinit.
public protocol StorageFile: AnyObject {
    var path: FilePath { get }
    func write(_ bytes: UnsafeRawBufferPointer, at offset: UInt64) throws
    /// Reads up to `buffer.count` bytes; returns fewer only at end of file.
    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) throws -> Int
    func sync() throws
    func truncate(to length: UInt64) throws
    func size() throws -> UInt64
    /// Asks the kernel to drop this file's cached pages, so that a read-back reads the medium.
    func dropCache()
    /// Starts write-back of a range without waiting, so dirty pages never pile up.
    func startWriteBack(offset: UInt64, length: UInt64)
    /// Waits until a range reached the device, then drops its cached pages: the next read of
    /// it reads the medium. (Not durability: `sync` is.)
    func settleForReadBack(offset: UInt64, length: UInt64)
    func close() throws
    /// Replaces this file's content with `source`'s by sharing its extents copy-on-write (a
    /// reflink), when the file system can; false means nothing happened: copy the bytes instead.
    /// Durable only after `sync()`.
    func cloneContents(of source: any StorageFile) -> Bool
}

extension StorageFile {
    public func settleForReadBack(offset: UInt64, length: UInt64) {}

    public func cloneContents(of source: any StorageFile) -> Bool { false }

    public func write(_ bytes: [UInt8], at offset: UInt64) throws {
        try bytes.withUnsafeBytes { try write($0, at: offset) }
    }

    /// Reads to the end of the file, not to its reported size: files in /proc and /sys (the
    /// kernel's boot id, the command line) report a size of 0, or none, and still have content.
    public func readAll() throws -> [UInt8] {
        // procfs refuses lseek(SEEK_END) (the size) on /proc/cmdline: then the size is no hint.
        var bytes = [UInt8](repeating: 0, count: max(Int((try? size()) ?? 0), 4096))
        var done = 0
        while true {
            if done == bytes.count { bytes += [UInt8](repeating: 0, count: bytes.count) }
            let n = try bytes.withUnsafeMutableBytes { raw in
                try read(into: UnsafeMutableRawBufferPointer(rebasing: raw[done...]), at: UInt64(done))
            }
            if n == 0 { break }
            done += n
        }
        return Array(bytes[..<done])
    }
}

extension Storage {
    /// Replaces a small file so that a crash leaves either the old or the new content:
    /// write a temporary sibling, sync it, rename it over, sync the directory.
    public func replaceFile(_ path: FilePath, with bytes: [UInt8]) throws {
        let temporary = FilePath(path.string + ".tmp")
        let file = try open(temporary, create: true)
        do {
            try file.truncate(to: 0)
            try file.write(bytes, at: 0)
            try file.sync()
            try file.close()
        } catch {
            try? file.close()
            throw error
        }
        try rename(temporary, to: path)
        try syncDirectory(path.removingLastComponent())
    }
}

public struct StorageError: ClassifiedError, Equatable {
    public var operation: String
    public var path: String
    public var errno: Errno?
    public var detail: String?

    public init(_ operation: String, _ path: FilePath, errno: Errno? = nil, detail: String? = nil) {
        self.operation = operation
        self.path = path.string
        self.errno = errno
        self.detail = detail
    }

    public var failureClass: FailureClass { .io }

    public var description: String {
        var text = "\(operation) \(path) failed"
        if let errno { text += ": \(errno)" }
        if let detail { text += ": \(detail)" }
        return text
    }
}
