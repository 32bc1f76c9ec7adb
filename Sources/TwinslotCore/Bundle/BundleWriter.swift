import SystemPackage

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

#if canImport(Glibc)
    import Glibc
#endif

/// Builds bundles: compresses each image with zstd on every core, hashes it, writes the manifest,
/// signs it, and writes the tar. The output appears under its name only when complete.
public struct BundleWriter {
    public struct ImageInput: Sendable {
        public var slotClass: String
        /// A file (raw image, or a `.tar` archive for a directory slot) or a directory (packed
        /// into a tar for a directory slot).
        public var path: String

        public init(slotClass: String, path: String) {
            self.slotClass = slotClass
            self.path = path
        }
    }

    public enum Signing {
        case identity(SigningIdentity)
        case unsigned
    }

    public var compatible: String
    public var version: String
    public var securityVersion: UInt64
    public var description: String?
    public var images: [ImageInput]
    public var compressionLevel: Int32 = 3
    public var workers: Int32 = Int32(ProcessInfo.processInfo.activeProcessorCount)
    /// Each image is a sequence of independent zstd frames of this many uncompressed bytes (the
    /// last one shorter), so that an interrupted install can resume at a frame boundary.
    public var frameSize: Int = BundleWriter.defaultFrameSize
    public static let defaultFrameSize = 32 << 20
    public var created = Date()

    public init(
        compatible: String, version: String, securityVersion: UInt64, description: String? = nil,
        images: [ImageInput]
    ) {
        self.compatible = compatible
        self.version = version
        self.securityVersion = securityVersion
        self.description = description
        self.images = images
    }

    /// Writes the bundle to `output` and returns its manifest.
    @discardableResult
    public func write(to output: String, signing: Signing) throws -> VerifiedManifest {
        let work = output + ".parts"
        let storage = PosixStorage()
        try storage.removeTree(FilePath(work))
        try storage.makeDirectory(FilePath(work))
        defer { try? storage.removeTree(FilePath(work)) }

        var entries: [Manifest.Image] = []
        for input in images {
            guard Manifest.isValidSlotClass(input.slotClass) else {
                throw BundleError.manifestInvalid("slot class '\(input.slotClass)' must match [a-z][a-z0-9_-]{0,31}")
            }
            var source = input.path
            var content = Manifest.Content.raw
            switch storage.fileKind(FilePath(input.path)) {
            case .directory:
                source = work + "/\(input.slotClass).tar"
                try DirectoryPacker.pack(directory: input.path, into: source)
                content = .tar
            case .regular, .blockDevice:
                if input.path.hasSuffix(".tar") { content = .tar }
            case nil:
                throw BundleError.imageUnreadable(
                    slotClass: input.slotClass, path: input.path, reason: "no such file or directory")
            default:
                throw BundleError.imageUnreadable(
                    slotClass: input.slotClass, path: input.path, reason: "not a file or directory")
            }
            let member = "\(input.slotClass).\(content == .tar ? "tar" : "img").zst"
            let digest: ImageDigest
            do {
                digest = try compress(source, into: work + "/" + member)
            } catch BundleError.unreadable(let path, let reason) where path == source {
                throw BundleError.imageUnreadable(slotClass: input.slotClass, path: input.path, reason: reason)
            }
            entries.append(
                Manifest.Image(
                    slotClass: input.slotClass, member: member, content: content, size: digest.size,
                    sha256: digest.sha256, compressedSize: digest.compressedSize,
                    compressedSha256: digest.compressedSha256))
        }
        let timestamp = iso8601(created)
        let manifest = Manifest(
            compatible: compatible, version: version, securityVersion: securityVersion, created: timestamp,
            description: description, images: entries)
        try manifest.validate()
        let bytes = manifest.encoded()
        var signature: [UInt8]?
        if case .identity(let identity) = signing { signature = try identity.sign(bytes) }
        try Self.assemble(
            output: output, manifest: bytes, signature: signature,
            members: entries.map { ($0.member, work + "/" + $0.member) },
            modificationTime: Int(created.timeIntervalSince1970))
        return VerifiedManifest(
            manifest: manifest, bytes: bytes, bundleHash: SHA256Hasher.hex(of: bytes), signature: signature ?? [],
            signer: nil)
    }

    private func compress(_ path: String, into destination: String) throws -> ImageDigest {
        let input = try FileByteSource(path: path)
        let size: UInt64? = {
            if case .regular(let size) = PosixStorage().fileKind(FilePath(path)) { return size }
            return nil
        }()
        precondition(frameSize > 0, "frameSize must be positive")
        let encoder = try ZstdEncoder(level: compressionLevel, workers: workers, pledgedSize: nil)
        let out = try FileDescriptor.open(
            FilePath(destination), .writeOnly, options: [.create, .truncate, .closeOnExec],
            permissions: [.ownerReadWrite, .groupRead, .otherRead])
        defer { try? out.close() }
        let hasher = SHA256Hasher()
        let compressedHasher = SHA256Hasher()
        var total: UInt64 = 0
        var compressedTotal: UInt64 = 0
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 4 << 20, alignment: 4096)
        defer { buffer.deallocate() }
        let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 4 << 20, alignment: 4096)
        defer { scratch.deallocate() }
        let emit: (UnsafeRawBufferPointer) throws -> Void = { block in
            compressedHasher.update(block)
            compressedTotal += UInt64(block.count)
            _ = try out.writeAll(block)
        }
        // Bytes of the current frame fed so far. A frame's content size goes in its header when
        // the input's size is known.
        var inFrame = 0
        if let size { try encoder.pledge(min(UInt64(frameSize), size)) }
        while true {
            let n = try input.read(into: buffer)
            var chunk = UnsafeRawBufferPointer(rebasing: buffer[..<n])
            hasher.update(chunk)
            total += UInt64(n)
            if n == 0 {
                // The last frame ends here (an empty image is one empty frame).
                if inFrame > 0 || total == 0 { try encoder.encode(chunk, end: true, scratch: scratch, emit: emit) }
                break
            }
            while !chunk.isEmpty {
                let take = min(chunk.count, frameSize - inFrame)
                inFrame += take
                let ends = inFrame == frameSize
                try encoder.encode(
                    UnsafeRawBufferPointer(rebasing: chunk[..<take]), end: ends, scratch: scratch, emit: emit)
                chunk = UnsafeRawBufferPointer(rebasing: chunk[take...])
                if ends {
                    inFrame = 0
                    let fed = total - UInt64(chunk.count)
                    if let size, size > fed { try encoder.pledge(min(UInt64(frameSize), size - fed)) }
                }
            }
        }
        return ImageDigest(
            size: total, sha256: hasher.finalize(), compressedSize: compressedTotal,
            compressedSha256: compressedHasher.finalize())
    }

    /// Writes the bundle tar: manifest, signature (when there is one), then the members in
    /// order, into a temporary name that is renamed when complete.
    static func assemble(
        output: String, manifest: [UInt8], signature: [UInt8]?, members: [(name: String, path: String)],
        modificationTime: Int
    ) throws {
        let temporary = output + ".tmp"
        let fd = try FileDescriptor.open(
            FilePath(temporary), .writeOnly, options: [.create, .truncate, .closeOnExec],
            permissions: [.ownerReadWrite, .groupRead, .otherRead])
        var closed = false
        defer { if !closed { try? fd.close() } }
        let tar = try TarStreamWriter(fileDescriptor: fd.rawValue)
        func addSmall(_ name: String, _ bytes: [UInt8]) throws {
            try tar.beginFile(name: name, size: UInt64(bytes.count), modificationTime: modificationTime)
            try bytes.withUnsafeBytes { try tar.write($0) }
            try tar.finishFile()
        }
        try addSmall(Manifest.memberName, manifest)
        if let signature { try addSmall(Manifest.signatureMemberName, signature) }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 4 << 20, alignment: 4096)
        defer { buffer.deallocate() }
        for member in members {
            let source = try FileByteSource(path: member.path)
            guard case .regular(let size) = PosixStorage().fileKind(FilePath(member.path)) else {
                throw BundleError.unreadable(path: member.path, reason: "not a regular file")
            }
            try tar.beginFile(name: member.name, size: size, modificationTime: modificationTime)
            while true {
                let n = try source.read(into: buffer)
                if n == 0 { break }
                try tar.write(UnsafeRawBufferPointer(rebasing: buffer[..<n]))
            }
            try tar.finishFile()
        }
        try tar.close()
        if fsync(fd.rawValue) != 0 { throw BundleError.unwritable(path: temporary, reason: "fsync failed") }
        try fd.close()
        closed = true
        try PosixStorage().rename(FilePath(temporary), to: FilePath(output))
    }
}
