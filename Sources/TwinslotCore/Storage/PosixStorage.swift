import CLinux
import SystemPackage

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// The real file system, through POSIX calls: what runs on a device.
public struct PosixStorage: Storage {
    public init() {}

    public func open(_ path: FilePath, create: Bool) throws -> any StorageFile {
        let options: FileDescriptor.OpenOptions = create ? [.create, .closeOnExec] : [.closeOnExec]
        do {
            let fd = try FileDescriptor.open(
                path, .readWrite, options: options, permissions: [.ownerReadWrite, .groupRead, .otherRead])
            return PosixFile(fd: fd, path: path)
        } catch {
            throw StorageError("open", path, errno: error as? Errno)
        }
    }

    public func openForReading(_ path: FilePath) throws -> any StorageFile {
        do {
            let fd = try FileDescriptor.open(path, .readOnly, options: [.closeOnExec])
            return PosixFile(fd: fd, path: path)
        } catch {
            throw StorageError("open", path, errno: error as? Errno)
        }
    }

    public func readFile(_ path: FilePath) throws -> [UInt8]? {
        let file: any StorageFile
        do {
            file = try openForReading(path)
        } catch {
            if (error as? StorageError)?.errno == .noSuchFileOrDirectory { return nil }
            throw error
        }
        defer { try? file.close() }
        return try file.readAll()
    }

    public func rename(_ source: FilePath, to destination: FilePath) throws {
        let rc = source.withPlatformString { s in destination.withPlatformString { d in Glibc.rename(s, d) } }
        if rc != 0 { throw StorageError("rename to \(destination)", source, errno: Errno(rawValue: errno)) }
    }

    public func syncDirectory(_ path: FilePath) throws {
        let directory = path.isEmpty ? FilePath(".") : path
        do {
            let fd = try FileDescriptor.open(directory, .readOnly, options: [.directory, .closeOnExec])
            defer { try? fd.close() }
            if fsync(fd.rawValue) != 0 { throw Errno(rawValue: errno) }
        } catch {
            throw StorageError("fsync directory", directory, errno: error as? Errno)
        }
    }

    public func remove(_ path: FilePath) throws {
        let rc = path.withPlatformString { p -> Int32 in
            if unlink(p) == 0 { return 0 }
            if errno == EISDIR || errno == EPERM { return rmdir(p) }
            return -1
        }
        if rc != 0 && errno != ENOENT { throw StorageError("remove", path, errno: Errno(rawValue: errno)) }
    }

    public func removeTree(_ path: FilePath) throws {
        guard let kind = fileKind(path) else { return }
        if kind == .directory {
            for name in try directoryEntries(path) {
                try removeTree(path.appending(name))
            }
        }
        try remove(path)
    }

    public func makeDirectory(_ path: FilePath) throws {
        if fileKind(path) == .directory { return }
        let parent = path.removingLastComponent()
        if !parent.isEmpty && parent != path && fileKind(parent) == nil { try makeDirectory(parent) }
        let rc = path.withPlatformString { mkdir($0, 0o755) }
        if rc != 0 && errno != EEXIST { throw StorageError("mkdir", path, errno: Errno(rawValue: errno)) }
    }

    public func makeSymlink(at path: FilePath, pointingTo target: String) throws {
        let rc = path.withPlatformString { p in target.withCString { t in symlink(t, p) } }
        if rc != 0 { throw StorageError("symlink", path, errno: Errno(rawValue: errno)) }
    }

    public func readSymlink(_ path: FilePath) throws -> String? {
        var buffer = [CChar](repeating: 0, count: 4096)
        let n = path.withPlatformString { readlink($0, &buffer, buffer.count - 1) }
        if n < 0 {
            if errno == ENOENT { return nil }
            throw StorageError("readlink", path, errno: Errno(rawValue: errno))
        }
        return String(decoding: buffer[..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    public func setPermissions(_ path: FilePath, _ mode: UInt32) throws {
        let rc = path.withPlatformString { chmod($0, mode_t(mode & 0o7777)) }
        if rc != 0 { throw StorageError("chmod", path, errno: Errno(rawValue: errno)) }
    }

    public func fileKind(_ path: FilePath) -> FileKind? {
        var info = stat()
        let rc = path.withPlatformString { lstat($0, &info) }
        if rc != 0 { return nil }
        switch info.st_mode & S_IFMT {
        case S_IFREG: return .regular(size: UInt64(info.st_size))
        case S_IFDIR: return .directory
        case S_IFLNK: return .symlink
        case S_IFBLK: return .blockDevice
        default: return .other
        }
    }

    public func permissions(_ path: FilePath) -> UInt32? {
        var info = stat()
        guard path.withPlatformString({ lstat($0, &info) }) == 0 else { return nil }
        return UInt32(info.st_mode) & 0o7777
    }

    public func directoryEntries(_ path: FilePath) throws -> [String] {
        guard let dir = path.withPlatformString({ opendir($0) }) else {
            throw StorageError("opendir", path, errno: Errno(rawValue: errno))
        }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) { pointer in
                pointer.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }
}

/// One open file descriptor; closed exactly once.
final class PosixFile: StorageFile {
    let path: FilePath
    private var fd: FileDescriptor?

    init(fd: FileDescriptor, path: FilePath) {
        self.fd = fd
        self.path = path
    }

    deinit { try? fd?.close() }

    func cloneContents(of source: any StorageFile) -> Bool {
        guard let fd, let sourceFD = (source as? PosixFile)?.fd else { return false }
        return ts_clone_file(fd.rawValue, sourceFD.rawValue) == 0
    }

    private func descriptor(_ operation: String) throws -> FileDescriptor {
        guard let fd else { throw StorageError(operation, path, detail: "file already closed") }
        return fd
    }

    func write(_ bytes: UnsafeRawBufferPointer, at offset: UInt64) throws {
        let fd = try descriptor("write")
        do {
            _ = try fd.writeAll(toAbsoluteOffset: Int64(offset), bytes)
        } catch {
            throw StorageError("write at offset \(offset) of", path, errno: error as? Errno)
        }
    }

    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) throws -> Int {
        let fd = try descriptor("read")
        var total = 0
        while total < buffer.count {
            let n: Int
            do {
                n = try fd.read(
                    fromAbsoluteOffset: Int64(offset) + Int64(total),
                    into: UnsafeMutableRawBufferPointer(rebasing: buffer[total...]))
            } catch {
                throw StorageError("read at offset \(offset + UInt64(total)) of", path, errno: error as? Errno)
            }
            if n == 0 { break }
            total += n
        }
        return total
    }

    func sync() throws {
        let fd = try descriptor("fsync")
        if fsync(fd.rawValue) != 0 { throw StorageError("fsync", path, errno: Errno(rawValue: errno)) }
    }

    func truncate(to length: UInt64) throws {
        let fd = try descriptor("truncate")
        if ftruncate(fd.rawValue, off_t(length)) != 0 {
            throw StorageError("truncate", path, errno: Errno(rawValue: errno))
        }
    }

    func size() throws -> UInt64 {
        let fd = try descriptor("stat")
        do {
            let end = try fd.seek(offset: 0, from: .end)
            return UInt64(end)
        } catch {
            throw StorageError("seek", path, errno: error as? Errno)
        }
    }

    func dropCache() {
        guard let fd else { return }
        _ = posix_fadvise(fd.rawValue, 0, 0, Int32(POSIX_FADV_DONTNEED))
    }

    func startWriteBack(offset: UInt64, length: UInt64) {
        guard let fd else { return }
        #if os(Linux)
            _ = ts_sync_file_range_write(fd.rawValue, Int64(offset), Int64(length))
        #endif
    }

    func settleForReadBack(offset: UInt64, length: UInt64) {
        guard let fd else { return }
        #if os(Linux)
            _ = ts_sync_file_range_wait(fd.rawValue, Int64(offset), Int64(length))
            _ = posix_fadvise(fd.rawValue, Int(offset), Int(length), Int32(POSIX_FADV_DONTNEED))
        #endif
    }

    func close() throws {
        guard let fd else { return }
        self.fd = nil
        do { try fd.close() } catch { throw StorageError("close", path, errno: error as? Errno) }
    }
}
