import COpenSSL
import TwinslotCore

/// A download checked against what the server announced: its size and every digest it gave
/// (hawkBit sends sha1, md5 and sha256; goosebit only sha1). The bundle's own signature is
/// what makes it trustworthy; this catches a server that serves something else than it lists.
public final class ArtifactSource: ByteSource {
    private let inner: any ByteSource
    private let expectedSize: UInt64?
    private var digests: [(name: String, expected: String, digest: MessageDigest)]
    private var count: UInt64 = 0

    public var name: String { inner.name }

    public init(_ inner: any ByteSource, size: UInt64?, hashes: [String: String]) {
        self.inner = inner
        expectedSize = size
        digests = hashes.sorted { $0.key < $1.key }.compactMap { name, value in
            MessageDigest(name: name).map { (name, value.lowercased(), $0) }
        }
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let read = try inner.read(into: buffer)
        count += UInt64(read)
        if let expectedSize, count > expectedSize {
            throw FleetError.artifactMismatch(
                url: name, what: "the size", expected: "\(expectedSize) bytes", actual: "more than that")
        }
        let bytes = UnsafeRawBufferPointer(rebasing: buffer[..<read])
        for entry in digests { entry.digest.update(bytes) }
        return read
    }

    /// A resumed install skips bytes: the whole-artifact size and digests cannot be checked
    /// then, and the signed description's per-image hashes still are.
    public func reopen(at offset: UInt64) throws -> (any ByteSource)? { try inner.reopen(at: offset) }

    /// Reads what the bundle reader left (tar padding), then compares size and digests.
    public func finish() throws {
        let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 << 10, alignment: 16)
        defer { scratch.deallocate() }
        while try read(into: scratch) > 0 {}
        if let expectedSize, count != expectedSize {
            throw FleetError.artifactMismatch(
                url: name, what: "the size", expected: "\(expectedSize) bytes", actual: "\(count) bytes")
        }
        for entry in digests {
            let actual = entry.digest.finalize()
            guard actual == entry.expected else {
                throw FleetError.artifactMismatch(url: name, what: entry.name, expected: entry.expected, actual: actual)
            }
        }
        try inner.finish()
    }
}

/// An OpenSSL EVP digest chosen by the name a DDI server uses (sha1, md5, sha256).
final class MessageDigest {
    private let context: OpaquePointer

    init?(name: String) {
        let algorithm: OpaquePointer?
        switch name.lowercased() {
        case "sha1": algorithm = EVP_sha1()
        case "md5": algorithm = EVP_md5()
        case "sha256": algorithm = EVP_sha256()
        default: return nil
        }
        guard let algorithm, let context = EVP_MD_CTX_new() else { return nil }
        self.context = context
        guard EVP_DigestInit_ex(context, algorithm, nil) == 1 else {
            EVP_MD_CTX_free(context)
            return nil
        }
    }

    deinit { EVP_MD_CTX_free(context) }

    func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        _ = EVP_DigestUpdate(context, base, bytes.count)
    }

    func finalize() -> String {
        var digest = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        _ = EVP_DigestFinal_ex(context, &digest, &length)
        return Hex.encode(digest.prefix(Int(length)))
    }
}
