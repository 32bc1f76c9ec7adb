import SystemPackage

/// Where bundle bytes come from: a file now, an HTTP stream in TwinslotFleet. A source is read
/// once, front to back, so a bundle never needs a local copy.
public protocol ByteSource: AnyObject {
    /// A name for messages: a path or a URL.
    var name: String { get }
    /// Reads up to `buffer.count` bytes; 0 means the end.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int
    /// Called once the installer has every image and before it offers them to the bootloader:
    /// a source that promised more (a size or digest from a fleet server) checks it here, so a
    /// transfer that does not match is refused before the flip.
    func finish() throws
}

extension ByteSource {
    public func finish() throws {}
}

public final class FileByteSource: ByteSource {
    public let name: String
    private var fd: FileDescriptor?

    public init(path: String) throws {
        name = path
        do {
            fd = try FileDescriptor.open(FilePath(path), .readOnly, options: [.closeOnExec])
        } catch {
            throw BundleError.unreadable(path: path, reason: "\(error)")
        }
        #if os(Linux)
            if let fd { _ = posixFadviseSequential(fd.rawValue) }
        #endif
    }

    deinit { try? fd?.close() }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        guard let fd else { return 0 }
        do {
            return try fd.read(into: buffer)
        } catch {
            throw BundleError.unreadable(path: name, reason: "\(error)")
        }
    }
}

#if canImport(Glibc)
    import Glibc
    private func posixFadviseSequential(_ fd: Int32) -> Int32 {
        posix_fadvise(fd, 0, 0, Int32(POSIX_FADV_SEQUENTIAL))
    }
#endif
