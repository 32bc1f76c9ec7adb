/// A manifest whose signature has been checked (or, for `bundle info` without a keyring,
/// explicitly not checked: `signer` is nil).
public struct VerifiedManifest: Sendable {
    public var manifest: Manifest
    /// The exact signed bytes.
    public var bytes: [UInt8]
    /// SHA-256 of the manifest bytes: the bundle's identity (two bundles with the same manifest
    /// carry the same images).
    public var bundleHash: String
    public var signature: [UInt8]
    public var signer: SignerSummary?
}

/// Reads a bundle front to back in one pass: manifest, signature, then each image streamed
/// through the decode/hash pipeline into a sink. Nothing of an image reaches a sink before the
/// manifest's signature verified, and every member is checked against the manifest.
public final class BundleReader {
    private var tar: TarStreamReader
    private var source: any ByteSource
    private var verified: VerifiedManifest?
    private var nextImageIndex = 0
    private var seenNames: Set<String> = []

    public init(source: any ByteSource) throws {
        self.source = source
        do {
            tar = try TarStreamReader(source: source)
        } catch {
            throw Self.classify(error, member: nil, bytesRead: 0, source: source.name)
        }
    }

    /// Bytes consumed from the source so far.
    public var bytesRead: UInt64 { tar.bytesRead }

    private static func classify(_ error: any Error, member: String?, bytesRead: UInt64, source: String)
        -> any Error
    {
        if let violation = error as? TarFormatViolation {
            if violation.kind == .noEndMarker { return BundleError.truncated(member: nil, detail: violation.reason) }
            return BundleError.tarFormat(violation)
        }
        guard let tarError = error as? TarReadError else { return error }
        if max(bytesRead, tarError.offset) == 0 { return BundleError.empty(source: source) }
        let message = tarError.message.lowercased()
        if message.contains("truncated") || message.contains("premature") || message.contains("eof") {
            return BundleError.truncated(member: member, detail: tarError.description)
        }
        if member == nil && message.contains("unrecognized archive format") {
            return BundleError.notATar(detail: tarError.description)
        }
        return BundleError.notATar(detail: tarError.description)
    }

    private func nextEntry(after member: String?) throws -> TarEntry? {
        let entry: TarEntry?
        do {
            entry = try tar.nextEntry()
        } catch {
            throw Self.classify(error, member: member, bytesRead: tar.bytesRead, source: source.name)
        }
        guard let entry else {
            if tar.bytesRead == 0 { throw BundleError.empty(source: source.name) }
            return nil
        }
        try entry.checkBundleMember(seen: &seenNames, exempt: [Manifest.memberName, Manifest.signatureMemberName])
        return entry
    }

    /// Reads a small member whole, refusing one larger than `limit`.
    private func readSmallMember(_ entry: TarEntry, limit: UInt64) throws -> [UInt8] {
        do {
            return try tar.readMember(entry, limit: limit)
        } catch {
            throw Self.classify(error, member: entry.name, bytesRead: tar.bytesRead, source: source.name)
        }
    }

    /// Reads `manifest.json` and `manifest.sig` and verifies the signature against `keyring`.
    /// With no keyring the signature is read but not checked (`bundle info` only).
    public func readManifest(keyring: Keyring?) throws -> VerifiedManifest {
        if let verified { return verified }
        guard let first = try nextEntry(after: nil) else {
            if tar.bytesRead == 0 { throw BundleError.empty(source: source.name) }
            throw BundleError.notATar(detail: "no tar member header in its first \(tar.bytesRead) bytes")
        }
        guard first.name == Manifest.memberName else {
            throw BundleError.unexpectedMember(expected: Manifest.memberName, found: first.name)
        }
        let bytes = try readSmallMember(first, limit: Manifest.maxSize)
        guard let second = try nextEntry(after: Manifest.memberName) else {
            throw BundleError.truncated(member: nil, detail: "the bundle ends after manifest.json")
        }
        guard second.name == Manifest.signatureMemberName else {
            if second.name.hasSuffix(".zst") || !seenNames.contains(Manifest.signatureMemberName) {
                throw BundleError.unsigned
            }
            throw BundleError.unexpectedMember(expected: Manifest.signatureMemberName, found: second.name)
        }
        let signature = try readSmallMember(second, limit: Manifest.maxSignatureSize)
        var signer: SignerSummary?
        if let keyring {
            signer = try SignatureVerifier.verify(signature: signature, content: bytes, keyring: keyring)
        }
        let manifest = try Manifest.decode(bytes)
        let result = VerifiedManifest(
            manifest: manifest, bytes: bytes, bundleHash: SHA256Hasher.hex(of: bytes), signature: signature,
            signer: signer)
        verified = result
        return result
    }

    /// Positions the reader at the next image's member and returns its manifest entry, or nil
    /// after the last one (having checked that nothing follows it).
    public func nextImage() throws -> Manifest.Image? {
        guard let verified else { preconditionFailure("readManifest must come first") }
        let images = verified.manifest.images
        let previous = nextImageIndex == 0 ? Manifest.signatureMemberName : images[nextImageIndex - 1].member
        guard nextImageIndex < images.count else {
            if let extra = try nextEntry(after: previous) { throw BundleError.extraMember(extra.name) }
            return nil
        }
        let image = images[nextImageIndex]
        guard let entry = try nextEntry(after: previous) else { throw BundleError.missingMember(image.member) }
        guard entry.name == image.member else {
            if images.contains(where: { $0.member == entry.name }) {
                throw BundleError.unexpectedMember(expected: image.member, found: entry.name)
            }
            throw BundleError.extraMember(entry.name)
        }
        guard entry.size == image.compressedSize else {
            throw BundleError.memberSizeMismatch(member: entry.name, declared: image.compressedSize, actual: entry.size)
        }
        nextImageIndex += 1
        currentImageOffset = tar.lastHeaderOffset
        return image
    }

    /// The verified manifest's hash, once read.
    public var bundleHash: String? { verified?.bundleHash }

    /// Where the member of the image `nextImage` returned last starts in the bundle.
    public private(set) var currentImageOffset: UInt64?

    /// The manifest read and verified from the start of the bundle still governs every member
    /// read after the resume. The images skipped must be exactly those before the offset.
    public func resume(at offset: UInt64, skipping: Set<String>, source newSource: any ByteSource) throws -> Bool {
        guard let verified else { preconditionFailure("readManifest must come first") }
        let images = verified.manifest.images
        let index = skipping.count
        guard index > 0, index < images.count, Set(images[..<index].map(\.slotClass)) == skipping else {
            return false
        }
        source = newSource
        do {
            tar = try TarStreamReader(source: newSource, baseOffset: offset)
        } catch {
            throw Self.classify(error, member: nil, bytesRead: 0, source: newSource.name)
        }
        for image in images[..<index] { seenNames.insert(image.member) }
        nextImageIndex = index
        return true
    }

    /// Streams the current image into `sink` (nil: hash only) and checks its sizes and hashes.
    /// The sink may have received bytes when this throws: the caller owns cleaning its target.
    @discardableResult
    public func streamImage(_ image: Manifest.Image, into sink: (any ImageSink)?) throws -> ImageDigest {
        let digest = try producer(for: image).stream(into: sink)
        guard digest.compressedSha256 == image.compressedSha256 else {
            throw BundleError.hashMismatch(
                member: image.member, what: "compressed member", expected: image.compressedSha256,
                actual: digest.compressedSha256)
        }
        guard digest.sha256 == image.sha256 else {
            throw BundleError.hashMismatch(
                member: image.member, what: "image", expected: image.sha256, actual: digest.sha256)
        }
        return digest
    }

    private func producer(for image: Manifest.Image) -> ImageProducer {
        ImageProducer(
            member: image.member, compressedSize: image.compressedSize, zstd: true, size: .exactly(image.size)
        ) { [self] in
            do {
                return try tar.nextBlock()
            } catch {
                throw Self.classify(error, member: image.member, bytesRead: tar.bytesRead, source: source.name)
            }
        }
    }
}

extension TarEntry {
    /// Refuses what no member of a bundle (native or .swu) may be: a second member of the same
    /// name, anything but a regular non-sparse file, an unsafe name (`exempt`: the names of the
    /// signed description and its signature, which are checked by equality instead).
    func checkBundleMember(seen: inout Set<String>, exempt: Set<String>) throws {
        guard seen.insert(name).inserted else { throw BundleError.duplicateMember(name) }
        let unsupported: String? =
            switch kind {
            case .regular: isSparse ? "sparse file" : nil
            case .directory: "directory"
            case .symlink: "symbolic link"
            case .hardlink: "hard link"
            case .device: "device node"
            case .fifo: "FIFO"
            case .other: "special file"
            }
        if let unsupported { throw BundleError.unsupportedMemberType(member: name, type: unsupported) }
        if !exempt.contains(name), let reason = Manifest.memberNameProblem(name) {
            throw BundleError.unsafeMemberName(name, reason: reason)
        }
    }
}
