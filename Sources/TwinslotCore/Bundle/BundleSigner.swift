import SystemPackage

#if canImport(Glibc)
    import Glibc
#endif

/// The second step of signing with an external key (an HSM, a signing server): takes an unsigned
/// bundle and a detached CMS signature over its `manifest.json`, and writes the signed bundle.
public enum BundleSigner {
    /// Returns the manifest bytes of an unsigned (or signed) bundle, to be signed elsewhere.
    public static func manifestBytes(of path: String) throws -> [UInt8] {
        let tar = try TarStreamReader(source: try FileByteSource(path: path))
        guard let first = try tar.nextEntry(), first.name == Manifest.memberName, first.kind == .regular else {
            throw BundleError.notATar(detail: "the first member of \(path) is not manifest.json")
        }
        var bytes: [UInt8] = []
        while let block = try tar.nextBlock() {
            bytes.append(contentsOf: block)
            guard UInt64(bytes.count) <= Manifest.maxSize else {
                throw BundleError.memberTooLarge(member: Manifest.memberName, limit: Manifest.maxSize, size: first.size)
            }
        }
        return bytes
    }

    /// Writes `output`: the members of `unsigned` with `signature` inserted after the manifest
    /// (replacing any signature it had). When `keyring` is given the signature must verify.
    public static func sign(unsigned: String, signature: [UInt8], keyring: Keyring?, output: String) throws {
        let reader = try TarStreamReader(source: try FileByteSource(path: unsigned))
        guard let first = try reader.nextEntry(), first.name == Manifest.memberName, first.kind == .regular else {
            throw BundleError.notATar(detail: "the first member of \(unsigned) is not manifest.json")
        }
        var manifest: [UInt8] = []
        while let block = try reader.nextBlock() { manifest.append(contentsOf: block) }
        _ = try Manifest.decode(manifest)
        if let keyring { _ = try SignatureVerifier.verify(signature: signature, content: manifest, keyring: keyring) }

        let temporary = output + ".tmp"
        let fd = try FileDescriptor.open(
            FilePath(temporary), .writeOnly, options: [.create, .truncate, .closeOnExec],
            permissions: [.ownerReadWrite, .groupRead, .otherRead])
        defer { try? fd.close() }
        let writer = try TarStreamWriter(fileDescriptor: fd.rawValue)
        for (name, bytes) in [(Manifest.memberName, manifest), (Manifest.signatureMemberName, signature)] {
            try writer.beginFile(name: name, size: UInt64(bytes.count))
            try bytes.withUnsafeBytes { try writer.write($0) }
            try writer.finishFile()
        }
        while let entry = try reader.nextEntry() {
            if entry.name == Manifest.signatureMemberName { continue }
            guard entry.kind == .regular else {
                throw BundleError.unsupportedMemberType(member: entry.name, type: "non-regular file")
            }
            try writer.beginFile(name: entry.name, size: entry.size)
            while let block = try reader.nextBlock() { try writer.write(block) }
            try writer.finishFile()
        }
        try writer.close()
        guard fsync(fd.rawValue) == 0 else { throw BundleError.unwritable(path: temporary, reason: "fsync failed") }
        try PosixStorage().rename(FilePath(temporary), to: FilePath(output))
    }
}
