import SystemPackage

/// Writes an image byte for byte into a raw slot (a block device or a file), through `Storage`.
/// Dirty pages are pushed to the device as the image streams, so the final fsync is short and
/// the page cache never fills with gigabytes of one image.
public final class RawSlotWriter: ImageSink {
    static let writeBackInterval: UInt64 = 16 << 20

    public let path: FilePath
    private let file: any StorageFile
    private let isFile: Bool
    private let storage: any Storage
    private var written: UInt64 = 0
    private var scheduled: UInt64 = 0
    /// Reads regions back while later ones are written (nil once the writes stopped being
    /// contiguous: then `verifyReadBack` reads the whole image back at the end).
    private var verifier: ReadBackVerifier?
    private var regionStart: UInt64 = 0
    private let regionChecksum = RegionHash()

    /// Opens the slot: a block device at least `size` bytes large, or an existing regular file
    /// (an image file, a simulated device). A slot is never created: a device name that does not
    /// exist (the board enumerated the eMMC as mmcblk1, not mmcblk0) must fail here rather than
    /// become a file on devtmpfs that reads back "OK" while the partition keeps the old bits.
    /// Symlinks (/dev/disk/by-partlabel/…) are followed to the device they name.
    public init(storage: any Storage, path: FilePath, size: UInt64) throws {
        let resolved = try Self.check(storage: storage, path: path, size: size)
        self.path = resolved
        self.storage = storage
        isFile = storage.fileKind(resolved) != .blockDevice
        file = try storage.open(resolved, create: false)
        if !isFile {
            let capacity = try file.size()
            guard capacity >= size else {
                throw SlotError.tooSmall(slot: path.string, capacity: capacity, needed: size)
            }
        }
        verifier = ReadBackVerifier(file: file)
    }

    deinit { _ = try? verifier?.finish() }

    /// Checks, without writing, that a slot can take an image of `size` bytes: a block device
    /// large enough, or an existing regular file.
    public static func preflight(storage: any Storage, path: FilePath, size: UInt64) throws {
        let resolved = try check(storage: storage, path: path, size: size)
        guard storage.fileKind(resolved) == .blockDevice else { return }
        let file = try storage.openForReading(resolved)
        defer { try? file.close() }
        let capacity = try file.size()
        guard capacity >= size else {
            throw SlotError.tooSmall(slot: path.string, capacity: capacity, needed: size)
        }
    }

    /// The slot's path with symlinks followed, once it is known to be a block device or a
    /// regular file outside /dev (a regular file there is what a wrong device name left behind).
    private static func check(storage: any Storage, path: FilePath, size: UInt64) throws -> FilePath {
        let resolved = try storage.resolvingSymlinks(path)
        let shown = resolved == path ? path.string : "\(path.string) (\(resolved.string))"
        switch storage.fileKind(resolved) {
        case .blockDevice:
            if let mountPoint = MountTable.mountPoint(ofDevice: resolved, storage: storage) {
                throw SlotError.mounted(slot: shown, at: mountPoint)
            }
            return resolved
        case .regular:
            if resolved.starts(with: FilePath("/dev")) { throw SlotError.fileInDev(slot: shown) }
            return resolved
        case nil:
            throw SlotError.missing(slot: shown)
        default:
            throw SlotError.notARawSlot(slot: shown)
        }
    }

    public func write(_ bytes: UnsafeRawBufferPointer, at offset: UInt64) throws {
        try file.write(bytes, at: offset)
        if offset != written, let verifier {
            // Not one stream front to back: verify the whole image at the end instead.
            _ = try? verifier.finish()
            self.verifier = nil
        }
        if verifier != nil {
            // Split at region boundaries: each region's checksum covers exactly its bytes.
            var rest = bytes
            var at = offset
            while !rest.isEmpty {
                let room = Int(min(UInt64(rest.count), regionStart + Self.writeBackInterval - at))
                regionChecksum.update(UnsafeRawBufferPointer(rebasing: rest[..<room]))
                at += UInt64(room)
                rest = UnsafeRawBufferPointer(rebasing: rest[room...])
                if at == regionStart + Self.writeBackInterval { closeRegion(end: at) }
            }
        }
        written = max(written, offset + UInt64(bytes.count))
        if written - scheduled >= Self.writeBackInterval {
            file.startWriteBack(offset: scheduled, length: written - scheduled)
            scheduled = written
        }
    }

    private func closeRegion(end: UInt64) {
        guard end > regionStart else { return }
        verifier?.verify(.init(offset: regionStart, length: end - regionStart, checksum: regionChecksum.finalize()))
        regionStart = end
        regionChecksum.reset()
    }

    /// Makes the image durable: a file-backed slot is cut to the image's size, then synced.
    public func finish(size: UInt64) throws {
        if isFile { try file.truncate(to: size) }
        try file.sync()
    }

    /// After `finish`: checks that the medium holds the image's `size` bytes. Regions already
    /// read back while the image streamed are not read again; without them (writes out of
    /// order), the whole image is read back and its SHA-256 compared with `sha256`.
    public func verifyReadBack(size: UInt64, sha256: String) throws {
        if let verifier, written == size {
            closeRegion(end: size)
            self.verifier = nil
            let verified = try verifier.finish()
            guard verified == size else {
                throw SlotError.shortRead(slot: path.string, expected: size, got: verified)
            }
            return
        }
        if let verifier {
            _ = try? verifier.finish()
            self.verifier = nil
        }
        let actual = try readBack(size: size)
        guard actual == sha256 else {
            throw SlotError.readBackMismatch(slot: path.string, expected: sha256, actual: actual)
        }
    }

    /// Reads the slot's first `size` bytes back from the medium (its cached pages dropped
    /// first) and returns their SHA-256.
    public func readBack(size: UInt64) throws -> String {
        file.dropCache()
        return try Self.hash(file: file, size: size)
    }

    public func close() throws {
        // The verifier reads through this file: stop it before the descriptor goes.
        if let verifier {
            _ = try? verifier.finish()
            self.verifier = nil
        }
        try file.close()
    }

    /// The SHA-256 of a slot's first `size` bytes as the device holds them (cache dropped):
    /// how a resumed install re-verifies the images an interrupted one wrote.
    public static func hashSlot(storage: any Storage, path: FilePath, size: UInt64) throws -> String {
        let file = try storage.openForReading(path)
        defer { try? file.close() }
        file.dropCache()
        return try hash(file: file, size: size)
    }

    static func hash(file: any StorageFile, size: UInt64) throws -> String {
        let hasher = SHA256Hasher()
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 4096)
        defer { buffer.deallocate() }
        var offset: UInt64 = 0
        while offset < size {
            let want = Int(min(UInt64(buffer.count), size - offset))
            let n = try file.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[..<want]), at: offset)
            if n == 0 { break }
            hasher.update(UnsafeRawBufferPointer(rebasing: buffer[..<n]))
            offset += UInt64(n)
        }
        guard offset == size else {
            throw SlotError.shortRead(slot: file.path.string, expected: size, got: offset)
        }
        return hasher.finalize()
    }
}

public enum SlotError: ClassifiedError, Equatable {
    case missing(slot: String)
    /// A regular file under /dev: a slot device name that did not exist was once created as a file.
    case fileInDev(slot: String)
    /// The target slot's device holds a mounted file system (the running root, the data partition).
    case mounted(slot: String, at: String)
    case tooSmall(slot: String, capacity: UInt64, needed: UInt64)
    case notARawSlot(slot: String)
    case shortRead(slot: String, expected: UInt64, got: UInt64)
    case readBackMismatch(slot: String, expected: String, actual: String)
    /// A region read back differs from what was written there.
    case regionMismatch(slot: String, offset: UInt64, length: UInt64)
    case unsafeEntry(slot: String, entry: String, reason: String)
    /// A running slot to be copied into the target group (a class a partial bundle does not
    /// carry) does not hold what the journal recorded for it.
    case sourceMismatch(slot: String, recorded: String, actual: String)
    /// A copied directory slot, listed again from the medium, differs from its source.
    case copyMismatch(slot: String, source: String, entry: String)
    case cannotCopy(slot: String, entry: String, reason: String)

    public var failureClass: FailureClass {
        if case .mounted = self { return .config }
        return .io
    }

    public var description: String {
        switch self {
        case .missing(let slot):
            "slot \(slot) does not exist; a slot is never created: check the device name in system.toml"
        case .mounted(let slot, let mountPoint):
            "slot \(slot) is mounted at \(mountPoint): a slot that is written must not be in use "
                + "(check system.toml: is it the running root, or the data partition?)"
        case .fileInDev(let slot):
            "slot \(slot) is a regular file under /dev, not a block device: the device name is wrong "
                + "(remove the file and check system.toml)"
        case .tooSmall(let slot, let capacity, let needed):
            "slot \(slot) holds \(capacity) bytes but the image needs \(needed)"
        case .notARawSlot(let slot): "slot \(slot) is neither a regular file nor a block device"
        case .shortRead(let slot, let expected, let got):
            "reading slot \(slot) back gave \(got) of \(expected) bytes"
        case .readBackMismatch(let slot, let expected, let actual):
            "slot \(slot) reads back with SHA-256 \(actual), but \(expected) was written"
        case .regionMismatch(let slot, let offset, let length):
            "slot \(slot) reads back different bytes at \(offset)..<\(offset + length) than were written there"
        case .unsafeEntry(let slot, let entry, let reason):
            "image for directory slot \(slot) has an unsafe entry '\(entry)': \(reason)"
        case .sourceMismatch(let slot, let recorded, let actual):
            "the running slot \(slot) reads with SHA-256 \(actual), but the journal recorded \(recorded) for it: it "
                + "is not what twinslot installed there, so it is not copied into the update (nothing was flipped; "
                + "install a bundle that carries this class)"
        case .copyMismatch(let slot, let source, let entry):
            "slot \(slot), copied from \(source), differs from it at '\(entry)' when read back"
        case .cannotCopy(let slot, let entry, let reason):
            "cannot copy '\(entry)' of the running slot \(slot): \(reason)"
        }
    }
}
