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
    /// The same bundle from byte `offset` on, for an install that resumes where an interrupted
    /// one stopped; nil when this source cannot (the install then starts over).
    func reopen(at offset: UInt64) throws -> (any ByteSource)?
}

extension ByteSource {
    public func finish() throws {}
    public func reopen(at offset: UInt64) throws -> (any ByteSource)? { nil }
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

    /// Reads a file someone else opened (the D-Bus service opens a caller's bundle with the
    /// caller's permissions); this source owns and closes the descriptor. It cannot be reopened
    /// by name: the name might lead elsewhere by then, and to a file the opener could not read.
    public init(descriptor: FileDescriptor, name: String) {
        self.name = name
        fd = descriptor
        byName = false
    }

    private var byName = true

    deinit { try? fd?.close() }

    public func reopen(at offset: UInt64) throws -> (any ByteSource)? {
        guard byName else { return nil }
        let reopened = try FileByteSource(path: name)
        do {
            _ = try reopened.fd?.seek(offset: Int64(offset), from: .start)
        } catch {
            throw BundleError.unreadable(path: name, reason: "\(error)")
        }
        return reopened
    }

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
