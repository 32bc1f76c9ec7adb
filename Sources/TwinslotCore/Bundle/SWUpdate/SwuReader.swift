/// How a .swu maps onto the device it is installed on (docs/swupdate.md).
public struct SwuTarget: Sendable, Equatable {
    /// The device's compatible string: matched against `hardware-compatibility`, and the board
    /// name for board-specific settings.
    public var compatible: String
    /// The group being installed: copy1 for A, copy2 for B.
    public var group: SlotLetter
    public var slotClasses: [SlotClassConfig]

    public init(compatible: String, group: SlotLetter, slotClasses: [SlotClassConfig]) {
        self.compatible = compatible
        self.group = group
        self.slotClasses = slotClasses
    }

    /// "/dev//mmcblk0p3/" and "/dev/./mmcblk0p3" are "/dev/mmcblk0p3".
    static func normalize(_ path: String) -> String {
        "/" + path.split(separator: "/").filter { $0 != "." }.joined(separator: "/")
    }

    /// The slot class an image of sw-description goes to: `twinslot:CLASS`, or the class whose
    /// slot in the target group has the image's device (or path) as its path.
    public func slotClass(for image: SwDescription.Image) throws -> SlotClassConfig {
        if image.target.hasPrefix(SwuReader.classPrefix) {
            let name = String(image.target.dropFirst(SwuReader.classPrefix.count))
            guard let slot = slotClasses.first(where: { $0.name == name }) else {
                throw BundleError.unknownSlotClass(name, known: slotClasses.map(\.name).sorted())
            }
            return slot
        }
        // SWUpdate reads a bare device name ("mmcblk0p3") as a node in /dev.
        let path = Self.normalize(image.target.hasPrefix("/") ? image.target : "/dev/" + image.target)
        if let slot = slotClasses.first(where: { Self.normalize($0.path(for: group)) == path }) {
            return slot
        }
        if let slot = slotClasses.first(where: { Self.normalize($0.path(for: group.other)) == path }) {
            throw SwuError.unmappedTarget(
                filename: image.filename, target: image.target, group: group,
                detail:
                    "it is slot \(group.other.rawValue) of class '\(slot.name)', in the other group; twinslot installs copy1 into group A and copy2 into group B"
            )
        }
        throw SwuError.unmappedTarget(
            filename: image.filename, target: image.target, group: group,
            detail:
                "no slot of this device has that path; name a slot path of group \(group.rawValue) or 'twinslot:CLASS' (classes: "
                + slotClasses.map(\.name).joined(separator: ", ") + ")")
    }
}

/// Reads a SWUpdate `.swu` (a cpio archive, `newc` or `crc`) front to back, in SWUpdate's
/// order: `sw-description`, its CMS signature `sw-description.sig` (verified before
/// sw-description is even parsed), then the images, each streamed through the same pipeline as
/// a native bundle's and checked against sw-description's sha256 (of the member as stored).
public final class SwuReader: ResumableBundleSource {
    public static let descriptionName = "sw-description"
    public static let signatureName = "sw-description.sig"
    /// `device = "twinslot:CLASS"` names a slot class directly.
    public static let classPrefix = "twinslot:"
    /// The cap on a decoded image when neither the caller nor the slot gives a smaller one.
    public static let defaultMaxImageSize: UInt64 = 64 << 30

    private var archive: TarStreamReader
    private var source: any ByteSource
    private let target: SwuTarget?
    private var verified: VerifiedManifest?
    private var description: SwDescription?
    /// Selected images not met yet, by file name.
    private var pending: [String: (image: Manifest.Image, zstd: Bool)] = [:]
    private var pendingOrder: [String] = []
    private var current: (image: Manifest.Image, zstd: Bool, size: UInt64)?
    private var seenNames: Set<String> = []

    /// `target` nil: no device to map onto (`bundle info`, `bundle verify`): every image of every
    /// set is read, its slot class shown as its target.
    public init(source: any ByteSource, target: SwuTarget?) throws {
        self.source = source
        self.target = target
        do {
            archive = try TarStreamReader(source: source, format: .cpio)
        } catch {
            throw Self.classify(error, member: nil, bytesRead: 0, source: source.name)
        }
    }

    public var bytesRead: UInt64 { archive.bytesRead }

    /// The interpreted sw-description, once `readManifest` ran.
    public var swDescription: SwDescription? { description }

    private static func classify(_ error: any Error, member: String?, bytesRead: UInt64, source: String) -> any Error {
        guard let archiveError = error as? TarReadError else { return error }
        if max(bytesRead, archiveError.offset) == 0 { return BundleError.empty(source: source) }
        let message = archiveError.message.lowercased()
        if message.contains("truncated") || message.contains("premature") || message.contains("eof") {
            return BundleError.truncated(member: member, detail: archiveError.description)
        }
        return SwuError.archive(detail: archiveError.description)
    }

    private func nextEntry(after member: String?) throws -> TarEntry? {
        let entry: TarEntry?
        do {
            entry = try archive.nextEntry()
        } catch {
            throw Self.classify(error, member: member, bytesRead: archive.bytesRead, source: source.name)
        }
        guard let entry else {
            if archive.bytesRead == 0 { throw BundleError.empty(source: source.name) }
            return nil
        }
        try entry.checkBundleMember(seen: &seenNames, exempt: [Self.descriptionName, Self.signatureName])
        return entry
    }

    private func readSmallMember(_ entry: TarEntry, limit: UInt64) throws -> [UInt8] {
        do {
            return try archive.readMember(entry, limit: limit)
        } catch {
            throw Self.classify(error, member: entry.name, bytesRead: archive.bytesRead, source: source.name)
        }
    }

    public func readManifest(keyring: Keyring?) throws -> VerifiedManifest {
        if let verified { return verified }
        guard let first = try nextEntry(after: nil) else {
            throw SwuError.archive(detail: "no cpio member in its first \(archive.bytesRead) bytes")
        }
        guard first.name == Self.descriptionName else {
            throw BundleError.unexpectedMember(expected: Self.descriptionName, found: first.name)
        }
        let bytes = try readSmallMember(first, limit: Manifest.maxSize)
        guard let second = try nextEntry(after: Self.descriptionName), second.name == Self.signatureName else {
            throw SwuError.unsigned
        }
        let signature = try readSmallMember(second, limit: Manifest.maxSignatureSize)
        var signer: SignerSummary?
        if let keyring {
            signer = try SignatureVerifier.verify(signature: signature, content: bytes, keyring: keyring)
        }
        let description = try SwDescription.parse(
            bytes, board: target?.compatible, selection: target.map { .group($0.group) } ?? .all)
        var images: [Manifest.Image] = []
        var classes = Set<String>()
        for swImage in description.images {
            var slotClass = swImage.target
            if let target {
                slotClass = try target.slotClass(for: swImage).name
                guard classes.insert(slotClass).inserted else {
                    throw SwuError.invalid(
                        line: swImage.line, message: "two images of the selected set go to slot class '\(slotClass)'")
                }
            }
            var image = Manifest.Image(
                slotClass: slotClass, member: swImage.filename, content: swImage.kind == .raw ? .raw : .tar, size: 0,
                sha256: swImage.zstd ? "" : swImage.sha256, compressedSize: 0, compressedSha256: swImage.sha256)
            image.sizeKnown = false
            images.append(image)
            pending[swImage.filename] = (image, swImage.zstd)
            pendingOrder.append(swImage.filename)
        }
        let compatible: String
        if let target, description.matchedHardware(target.compatible) != nil {
            compatible = target.compatible
        } else {
            compatible = description.hardwareCompatibility?.joined(separator: ", ") ?? "(no hardware-compatibility)"
        }
        let manifest = Manifest(
            compatible: compatible, version: description.version, securityVersion: description.securityVersion,
            created: "", description: description.description, images: images)
        self.description = description
        let result = VerifiedManifest(
            manifest: manifest, bytes: bytes, bundleHash: SHA256Hasher.hex(of: bytes), signature: signature,
            signer: signer)
        verified = result
        return result
    }

    /// The next member the selected set installs, in archive order; members of other sets are
    /// skipped unread, members no set names are refused.
    public func nextImage() throws -> Manifest.Image? {
        guard verified != nil, let description else { preconditionFailure("readManifest must come first") }
        var previous = current?.image.member ?? Self.signatureName
        current = nil
        while true {
            guard let entry = try nextEntry(after: previous) else {
                if let missing = pendingOrder.first(where: { pending[$0] != nil }) {
                    throw BundleError.missingMember(missing)
                }
                return nil
            }
            previous = entry.name
            if let (image, zstd) = pending.removeValue(forKey: entry.name) {
                var image = image
                image.compressedSize = entry.size
                if !zstd {
                    image.size = entry.size
                    image.sizeKnown = true
                }
                current = (image, zstd, entry.size)
                currentImageOffset = archive.lastHeaderOffset
                return image
            }
            guard description.referencedFilenames.contains(entry.name) else {
                throw BundleError.extraMember(entry.name)
            }
        }
    }

    public private(set) var currentImageOffset: UInt64?

    /// Continues at the cpio member header at `offset`; the images of `skipping` came before.
    public func resume(at offset: UInt64, skipping: Set<String>, source newSource: any ByteSource) throws -> Bool {
        guard verified != nil else { preconditionFailure("readManifest must come first") }
        let skipped = pending.filter { skipping.contains($0.value.image.slotClass) }
        guard !skipped.isEmpty, skipped.count == skipping.count, skipped.count < pending.count else { return false }
        do {
            archive = try TarStreamReader(source: newSource, format: .cpio, baseOffset: offset)
        } catch {
            throw Self.classify(error, member: nil, bytesRead: 0, source: newSource.name)
        }
        source = newSource
        for name in skipped.keys {
            pending.removeValue(forKey: name)
            seenNames.insert(name)
        }
        current = nil
        return true
    }

    @discardableResult
    public func streamImage(_ image: Manifest.Image, into sink: (any ImageSink)?, limit: UInt64?) throws
        -> ImageDigest
    {
        guard let current, current.image.member == image.member else {
            preconditionFailure("streamImage(\(image.member)) without nextImage() positioned on it")
        }
        let cap = min(limit ?? Self.defaultMaxImageSize, Self.defaultMaxImageSize)
        if !current.zstd && current.size > cap {
            throw BundleError.exceedsLimit(member: image.member, limit: cap)
        }
        let producer = ImageProducer(
            member: image.member, compressedSize: current.size, zstd: current.zstd,
            size: current.zstd ? .atMost(cap) : .exactly(current.size)
        ) { [self] in
            do {
                return try archive.nextBlock()
            } catch {
                throw Self.classify(error, member: image.member, bytesRead: archive.bytesRead, source: source.name)
            }
        }
        let digest = try producer.stream(into: sink)
        guard digest.compressedSha256 == current.image.compressedSha256 else {
            throw BundleError.hashMismatch(
                member: image.member, what: "member as stored (sw-description's sha256)",
                expected: current.image.compressedSha256, actual: digest.compressedSha256)
        }
        return digest
    }
}
