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
    private let format: Format
    /// Two buffers handed to libarchive in turn: the one before the current one stays intact,
    /// so the raw header blocks of the member just read (and the end marker) can be checked.
    private let buffers: [UnsafeMutableRawBufferPointer]
    private var current = 1
    /// Where in this reader's stream each buffer's bytes start, and how many it holds.
    private var window: [(start: UInt64, count: Int)] = [(0, 0), (0, 0)]
    /// The data offset the current member's next block must start at (a hole is sparse data).
    private var expectedDataOffset: Int64 = 0
    private var currentName = ""
    private var endChecked = false
    /// Checks each cpio header's name size before libarchive reads it.
    private var cpioHeaders = CpioHeaderGuard()
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
        self.format = format
        buffers = (0..<2).map { _ in
            UnsafeMutableRawBufferPointer.allocate(byteCount: Self.blockSize, alignment: 4096)
        }
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
        for buffer in buffers { buffer.deallocate() }
    }

    /// Fills the other buffer as far as the source goes (a short read only at its end), so each
    /// buffer but the last holds `blockSize` bytes and the window reaches that far back.
    fileprivate func fill() -> (UnsafeRawPointer?, Int) {
        current ^= 1
        let buffer = buffers[current]
        var count = 0
        do {
            while count < buffer.count {
                let n = try source.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[count...]))
                if n == 0 { break }
                count += n
            }
        } catch {
            sourceError = error
            return (nil, -1)
        }
        window[current] = (bytesRead, count)
        bytesRead += UInt64(count)
        if format == .cpio {
            do {
                try cpioHeaders.advance { windowBytes(at: $0, count: $1) }
            } catch {
                sourceError = error
                return (nil, -1)
            }
        }
        return (UnsafeRawPointer(buffer.baseAddress), count)
    }

    /// `count` bytes of this reader's stream from `offset`, if both buffers still hold them.
    private func windowBytes(at offset: UInt64, count: Int) -> [UInt8]? {
        var result: [UInt8] = []
        result.reserveCapacity(count)
        var position = offset
        let end = offset + UInt64(count)
        while position < end {
            guard
                let index = window.indices.first(where: {
                    window[$0].start <= position && position < window[$0].start + UInt64(window[$0].count)
                })
            else { return nil }
            let from = Int(position - window[index].start)
            let n = min(window[index].count - from, Int(end - position))
            result += UnsafeRawBufferPointer(rebasing: buffers[index][from..<(from + n)])
            position += UInt64(n)
        }
        return result
    }

    /// After libarchive's end of archive: the end marker is two zero blocks, and only zero
    /// padding up to the end of its 10240-byte record may follow (counted from the bundle's
    /// start). libarchive stops reading at the marker; anything after it was never checked.
    private func checkEnd() throws {
        let marker = UInt64(max(0, archive_read_header_position(archive)))
        let recordEnd =
            (baseOffset + marker + 1024 + TarHeaderCheck.recordSize - 1)
            / TarHeaderCheck.recordSize * TarHeaderCheck.recordSize - baseOffset
        func trailing(_ at: UInt64) -> TarFormatViolation {
            TarFormatViolation(
                kind: .trailingData, entry: nil,
                reason: "data after the end-of-archive marker at byte \(baseOffset + at) "
                    + "(only zero padding to the end of its 10240-byte record may follow)")
        }
        guard let seen = windowBytes(at: marker, count: Int(bytesRead - marker)) else {
            throw trailing(marker)
        }
        if let nonZero = seen.firstIndex(where: { $0 != 0 }) { throw trailing(marker + UInt64(nonZero)) }
        if bytesRead > recordEnd { throw trailing(recordEnd) }
        let buffer = buffers[current ^ 1]
        while true {
            let n = try source.read(into: buffer)
            if n == 0 { break }
            let chunk = UnsafeRawBufferPointer(rebasing: buffer[..<n])
            if let nonZero = chunk.firstIndex(where: { $0 != 0 }) { throw trailing(bytesRead + UInt64(nonZero)) }
            bytesRead += UInt64(n)
            if bytesRead > recordEnd { throw trailing(recordEnd) }
        }
        if bytesRead < marker + 1024 {
            throw TarFormatViolation(
                kind: .noEndMarker, entry: nil,
                reason: "the archive ends at byte \(baseOffset + bytesRead) without its end-of-archive marker "
                    + "(two 512-byte zero blocks)")
        }
    }

    private func readError(_ doing: String) -> any Error {
        if let sourceError { return sourceError }
        let message = archive_error_string(archive).map { String(cString: $0) } ?? "unknown libarchive error"
        return TarReadError(doing: doing, message: message, offset: bytesRead)
    }

    /// The current member whole, for the small ones (a manifest, a signature): refused when it
    /// is, or turns out to be, larger than `limit`, or shorter than its header says.
    public func readMember(_ entry: TarEntry, limit: UInt64) throws -> [UInt8] {
        guard entry.size <= limit else {
            throw BundleError.memberTooLarge(member: entry.name, limit: limit, size: entry.size)
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(Int(entry.size))
        while let block = try nextBlock() {
            bytes.append(contentsOf: block)
            if UInt64(bytes.count) > limit {
                throw BundleError.memberTooLarge(member: entry.name, limit: limit, size: UInt64(bytes.count))
            }
        }
        guard UInt64(bytes.count) == entry.size else {
            throw BundleError.truncated(member: entry.name, detail: "\(bytes.count) of \(entry.size) bytes present")
        }
        return bytes
    }

    /// The next member header, or nil at the end of the archive.
    public func nextEntry() throws -> TarEntry? {
        var entry: OpaquePointer?
        let status = archive_read_next_header(archive, &entry)
        if status == ARCHIVE_EOF {
            if format == .tar && !endChecked {
                endChecked = true
                try checkEnd()
            }
            return nil
        }
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
        currentName = name
        expectedDataOffset = 0
        if format == .tar {
            let start = UInt64(max(0, archive_read_header_position(archive)))
            try TarHeaderCheck.check(headerAt: start, entry: name) { windowBytes(at: $0, count: $1) }
        }
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
        // libarchive skips a sparse file's holes by moving the offset: never let that become a
        // shorter file (sparse members are refused, this is the last line).
        guard offset == expectedDataOffset else {
            throw TarFormatViolation(
                kind: .memberType, entry: currentName,
                reason: "sparse data (a hole at byte \(expectedDataOffset)); sparse members are not allowed")
        }
        expectedDataOffset += Int64(size)
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
