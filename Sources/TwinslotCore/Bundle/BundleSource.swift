/// A bundle read front to back: its signed manifest first, then its images one by one. The
/// native reader (`BundleReader`) and the SWUpdate reader (`SwuReader`) both produce the same
/// `VerifiedManifest`, so the installer and the CLI treat every format alike.
public protocol BundleSource: AnyObject {
    /// Bytes consumed from the byte source so far.
    var bytesRead: UInt64 { get }
    /// Reads and verifies the signed description (with no keyring: reads it unverified).
    func readManifest(keyring: Keyring?) throws -> VerifiedManifest
    /// Positions the reader at the next image and returns it (with every size known by then
    /// filled in), or nil after the last one.
    func nextImage() throws -> Manifest.Image?
    /// Streams the current image into `sink` (nil: hash only) and checks it. `limit` caps the
    /// decoded size of an image whose size the bundle does not declare.
    @discardableResult
    func streamImage(_ image: Manifest.Image, into sink: (any ImageSink)?, limit: UInt64?) throws -> ImageDigest
}

/// A reader that can continue a bundle in the middle: an install interrupted after some images
/// were staged starts a new reader on the bytes from the next image's member header on.
public protocol ResumableBundleSource: BundleSource {
    /// Where the member of the image `nextImage` returned last starts in the bundle.
    var currentImageOffset: UInt64? { get }
    /// Continues at `offset` (a member header), reading from `source`, which starts there; the
    /// images of `skipping` (slot classes) are in their slots already. False: this reader
    /// cannot continue there (the install starts over).
    func resume(at offset: UInt64, skipping: Set<String>, source: any ByteSource) throws -> Bool
}

/// The bundle formats twinslot reads.
public enum BundleFormat: String, Sendable {
    /// docs/bundle-format.md: a tar with manifest.json and manifest.sig.
    case twinslot
    /// docs/swupdate.md: a SWUpdate `.swu`, a cpio (newc or crc) with sw-description and its
    /// CMS signature.
    case swupdate

    /// Tells the format from an archive's first bytes: cpio `newc` (070701) or `crc` (070702)
    /// magic is a .swu; anything else is read as a native bundle (which reports what is wrong).
    public static func sniff(_ prefix: [UInt8]) -> BundleFormat {
        let magic = Array("07070".utf8)
        if prefix.count >= 6 && Array(prefix[0..<5]) == magic && (prefix[5] == 0x31 || prefix[5] == 0x32) {
            return .swupdate
        }
        return .twinslot
    }

    /// Opens `source` with the reader its first bytes call for. `swu` says how a .swu maps onto
    /// the device (nil: no device, e.g. `bundle info` — every image shown, none mapped).
    public static func open(_ source: any ByteSource, swu: SwuTarget?) throws -> any BundleSource {
        let peeking = PeekingByteSource(source)
        let prefix = try peeking.peek(6)
        switch sniff(prefix) {
        case .twinslot: return try BundleReader(source: peeking)
        case .swupdate: return try SwuReader(source: peeking, target: swu)
        }
    }
}

extension BundleReader: ResumableBundleSource {
    @discardableResult
    public func streamImage(_ image: Manifest.Image, into sink: (any ImageSink)?, limit: UInt64?) throws
        -> ImageDigest
    {
        if let limit, image.size > limit { throw BundleError.exceedsLimit(member: image.member, limit: limit) }
        return try streamImage(image, into: sink)
    }
}

/// A byte source whose first bytes can be looked at and are then read again.
final class PeekingByteSource: ByteSource {
    private let inner: any ByteSource
    private var buffered: [UInt8] = []
    var name: String { inner.name }

    init(_ inner: any ByteSource) { self.inner = inner }

    /// Up to `count` first bytes (fewer only at the end of the source).
    func peek(_ count: Int) throws -> [UInt8] {
        var chunk = [UInt8](repeating: 0, count: count)
        while buffered.count < count {
            let want = count - buffered.count
            let n = try chunk.withUnsafeMutableBytes {
                try inner.read(into: UnsafeMutableRawBufferPointer(rebasing: $0[..<want]))
            }
            if n == 0 { break }
            buffered += chunk[..<n]
        }
        return buffered
    }

    func finish() throws { try inner.finish() }
    func reopen(at offset: UInt64) throws -> (any ByteSource)? { try inner.reopen(at: offset) }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        if !buffered.isEmpty {
            let n = min(buffer.count, buffered.count)
            buffered.withUnsafeBytes { buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[..<n])) }
            buffered.removeFirst(n)
            return n
        }
        return try inner.read(into: buffer)
    }
}
