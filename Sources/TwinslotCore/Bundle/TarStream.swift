import CArchive

/// One tar member header, as libarchive read it.
public struct TarEntry: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        case regular
        case directory
        case symlink(target: String)
        case hardlink(target: String)
        case device
        case fifo
        case other
    }

    public var name: String
    public var kind: Kind
    public var size: UInt64
    public var mode: UInt32
    public var isSparse: Bool
}

/// Reads a tar archive front to back from a `ByteSource` with libarchive, one member at a time.
/// Only tar formats are enabled and no decompression filter: a bundle is a plain tar. With
/// `format: .cpio` it reads a cpio archive instead (SWUpdate's `.swu`, `newc` or `crc`).
public final class TarStreamReader {
    /// The archive format a reader accepts: exactly one, never libarchive's "all".
    public enum Format: Sendable {
        case tar
        case cpio
    }

    public static let blockSize = 256 << 10

    private let archive: OpaquePointer
    private let source: any ByteSource
    private let buffer: UnsafeMutableRawBufferPointer
    /// An error raised by the source inside libarchive's callback, rethrown to the caller.
    fileprivate var sourceError: (any Error)?
    /// Bytes handed to libarchive so far.
    public private(set) var bytesRead: UInt64 = 0
    private var opened = false
    /// Where in the whole bundle this reader's first byte is (a resumed install starts later).
    public let baseOffset: UInt64

    /// The offset in the whole bundle of the last member header read: where a resumed
    /// install can start a new reader.
    public var lastHeaderOffset: UInt64 { baseOffset + UInt64(max(0, archive_read_header_position(archive))) }

    public init(source: any ByteSource, format: Format = .tar, baseOffset: UInt64 = 0) throws {
        self.baseOffset = baseOffset
        guard let archive = archive_read_new() else { fatalError("archive_read_new: out of memory") }
        self.archive = archive
        self.source = source
        buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: Self.blockSize, alignment: 4096)
        switch format {
        case .tar: archive_read_support_format_tar(archive)
        case .cpio: archive_read_support_format_cpio(archive)
        }
        let context = Unmanaged.passUnretained(self).toOpaque()
        let status = archive_read_open(archive, context, nil, tarReadCallback, nil)
        if status != ARCHIVE_OK { throw readError("opening") }
        opened = true
    }

    deinit {
        archive_read_free(archive)
        buffer.deallocate()
    }

    fileprivate func fill() -> (UnsafeRawPointer?, Int) {
        do {
            let count = try source.read(into: buffer)
            bytesRead += UInt64(count)
            return (UnsafeRawPointer(buffer.baseAddress), count)
        } catch {
            sourceError = error
            return (nil, -1)
        }
    }

    private func readError(_ doing: String) -> any Error {
        if let sourceError { return sourceError }
        let message = archive_error_string(archive).map { String(cString: $0) } ?? "unknown libarchive error"
        return TarReadError(doing: doing, message: message, offset: bytesRead)
    }

    /// The next member header, or nil at the end of the archive.
    public func nextEntry() throws -> TarEntry? {
        var entry: OpaquePointer?
        let status = archive_read_next_header(archive, &entry)
        if status == ARCHIVE_EOF { return nil }
        guard status == ARCHIVE_OK || status == ARCHIVE_WARN, let entry else {
            throw readError("reading a member header")
        }
        let name = archive_entry_pathname(entry).map { String(cString: $0) } ?? ""
        let type = UInt32(archive_entry_filetype(entry))
        var kind: TarEntry.Kind
        switch type {
        case ts_AE_IFREG: kind = .regular
        case ts_AE_IFDIR: kind = .directory
        case ts_AE_IFLNK: kind = .symlink(target: archive_entry_symlink(entry).map { String(cString: $0) } ?? "")
        case ts_AE_IFCHR, ts_AE_IFBLK: kind = .device
        case ts_AE_IFIFO: kind = .fifo
        default: kind = .other
        }
        if let link = archive_entry_hardlink(entry) { kind = .hardlink(target: String(cString: link)) }
        let size = archive_entry_size_is_set(entry) != 0 ? UInt64(max(0, archive_entry_size(entry))) : 0
        return TarEntry(
            name: name, kind: kind, size: size, mode: UInt32(archive_entry_perm(entry)),
            isSparse: archive_entry_sparse_count(entry) > 0)
    }

    /// The next block of the current member's data, or nil at its end. The bytes are valid until
    /// the next call.
    public func nextBlock() throws -> UnsafeRawBufferPointer? {
        var pointer: UnsafeRawPointer?
        var size = 0
        var offset: la_int64_t = 0
        let status = archive_read_data_block(archive, &pointer, &size, &offset)
        if status == ARCHIVE_EOF { return nil }
        guard status == ARCHIVE_OK || status == ARCHIVE_WARN else { throw readError("reading member data") }
        return UnsafeRawBufferPointer(start: pointer, count: size)
    }
}

private func tarReadCallback(
    _ archive: OpaquePointer?, _ context: UnsafeMutableRawPointer?,
    _ buffer: UnsafeMutablePointer<UnsafeRawPointer?>?
) -> la_ssize_t {
    let reader = Unmanaged<TarStreamReader>.fromOpaque(context!).takeUnretainedValue()
    let (pointer, count) = reader.fill()
    buffer?.pointee = pointer
    return la_ssize_t(count)
}

public struct TarReadError: Error, CustomStringConvertible {
    public var doing: String
    public var message: String
    public var offset: UInt64
    public var description: String { "\(doing) near byte \(offset): \(message)" }
}

/// Writes a POSIX (pax) tar archive to a file descriptor with libarchive.
public final class TarStreamWriter {
    static let bytesPerBlock = 1 << 20

    private let archive: OpaquePointer
    private var closed = false

    public init(fileDescriptor: Int32) throws {
        guard let archive = archive_write_new() else { fatalError("archive_write_new: out of memory") }
        self.archive = archive
        archive_write_set_format_pax_restricted(archive)
        // libarchive's default 10 KiB blocks cost one write(2) each: 60 000 of them for a 600 MiB
        // member. Blocks of 1 MiB; the last block is not padded, so the bytes are the same.
        archive_write_set_bytes_per_block(archive, Int32(TarStreamWriter.bytesPerBlock))
        archive_write_set_bytes_in_last_block(archive, 1)
        if archive_write_open_fd(archive, fileDescriptor) != ARCHIVE_OK { throw writeError("opening") }
    }

    deinit {
        if !closed { archive_write_close(archive) }
        archive_write_free(archive)
    }

    private func writeError(_ doing: String) -> TarReadError {
        let message = archive_error_string(archive).map { String(cString: $0) } ?? "unknown libarchive error"
        return TarReadError(doing: doing, message: message, offset: 0)
    }

    /// Starts a regular member of exactly `size` bytes.
    public func beginFile(name: String, size: UInt64, mode: UInt32 = 0o644, modificationTime: Int = 0) throws {
        guard let entry = archive_entry_new() else { fatalError("archive_entry_new: out of memory") }
        defer { archive_entry_free(entry) }
        archive_entry_set_pathname(entry, name)
        archive_entry_set_filetype(entry, ts_AE_IFREG)
        archive_entry_set_perm(entry, mode_t(mode))
        archive_entry_set_size(entry, la_int64_t(size))
        archive_entry_set_mtime(entry, time_t(modificationTime), 0)
        if archive_write_header(archive, entry) != ARCHIVE_OK { throw writeError("writing header of \(name)") }
    }

    /// Adds a member of any kind (used to pack directory images).
    public func addEntry(name: String, kind: TarEntry.Kind, size: UInt64, mode: UInt32, modificationTime: Int) throws {
        guard let entry = archive_entry_new() else { fatalError("archive_entry_new: out of memory") }
        defer { archive_entry_free(entry) }
        archive_entry_set_pathname(entry, name)
        archive_entry_set_perm(entry, mode_t(mode))
        archive_entry_set_mtime(entry, time_t(modificationTime), 0)
        switch kind {
        case .regular:
            archive_entry_set_filetype(entry, ts_AE_IFREG)
            archive_entry_set_size(entry, la_int64_t(size))
        case .directory:
            archive_entry_set_filetype(entry, ts_AE_IFDIR)
        case .symlink(let target):
            archive_entry_set_filetype(entry, ts_AE_IFLNK)
            archive_entry_set_symlink(entry, target)
        default:
            throw TarReadError(doing: "packing \(name)", message: "unsupported file type", offset: 0)
        }
        if archive_write_header(archive, entry) != ARCHIVE_OK { throw writeError("writing header of \(name)") }
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        var done = 0
        while done < bytes.count {
            let n = archive_write_data(archive, bytes.baseAddress! + done, bytes.count - done)
            if n <= 0 { throw writeError("writing member data") }
            done += n
        }
    }

    public func finishFile() throws {
        if archive_write_finish_entry(archive) != ARCHIVE_OK { throw writeError("finishing a member") }
    }

    public func close() throws {
        closed = true
        if archive_write_close(archive) != ARCHIVE_OK { throw writeError("closing") }
    }
}
