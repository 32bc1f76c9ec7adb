import SystemPackage

#if canImport(Glibc)
    import Glibc
#endif

/// Writes a bundle's verified images as files into one directory. A file appears under its
/// final name only after its hashes matched; nothing is ever written outside the directory
/// (member names are plain names, and files are created with O_EXCL | O_NOFOLLOW).
public enum BundleExtractor {
    public struct Extracted: Sendable {
        public var slotClass: String
        public var path: String
        public var digest: ImageDigest
    }

    public static func extract(bundle: String, keyring: Keyring, into directory: String) throws -> [Extracted] {
        // Either format (a .swu: every image of every set, each under its member name).
        let reader = try BundleFormat.open(try FileByteSource(path: bundle), swu: nil)
        let verified = try reader.readManifest(keyring: keyring)
        let storage = PosixStorage()
        try storage.makeDirectory(FilePath(directory))
        var results: [Extracted] = []
        while let image = try reader.nextImage() {
            let zstd = image.member.hasSuffix(".zst") && (reader is BundleReader || !image.sizeKnown)
            let name = zstd ? String(image.member.dropLast(".zst".count)) : image.member
            let final = directory + "/" + name
            let partial = directory + "/." + name + ".partial"
            try storage.remove(FilePath(partial))
            let sink = try FileSink(path: partial)
            do {
                let digest = try reader.streamImage(image, into: sink, limit: nil)
                try sink.close()
                try storage.rename(FilePath(partial), to: FilePath(final))
                results.append(Extracted(slotClass: image.slotClass, path: final, digest: digest))
            } catch {
                try? sink.close()
                try? storage.remove(FilePath(partial))
                throw error
            }
        }
        let description = reader is SwuReader ? SwuReader.descriptionName : Manifest.memberName
        try storage.replaceFile(FilePath(directory + "/" + description), with: verified.bytes)
        return results
    }
}

/// An image sink that writes a new file (never following a symlink, never reusing a file).
final class FileSink: ImageSink {
    private let fd: FileDescriptor
    private var isClosed = false
    let path: String

    init(path: String) throws {
        self.path = path
        let flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC
        let raw = path.withCString { Glibc.open($0, flags, 0o644) }
        guard raw >= 0 else { throw StorageError("create", FilePath(path), errno: Errno(rawValue: errno)) }
        fd = FileDescriptor(rawValue: raw)
    }

    deinit { if !isClosed { try? fd.close() } }

    func write(_ bytes: UnsafeRawBufferPointer, at offset: UInt64) throws {
        do {
            _ = try fd.writeAll(toAbsoluteOffset: Int64(offset), bytes)
        } catch {
            throw StorageError("write at offset \(offset) of", FilePath(path), errno: error as? Errno)
        }
    }

    func close() throws {
        guard !isClosed else { return }
        isClosed = true
        if fsync(fd.rawValue) != 0 { throw StorageError("fsync", FilePath(path), errno: Errno(rawValue: errno)) }
        try fd.close()
    }
}
