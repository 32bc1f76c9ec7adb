import COpenSSL

/// A message digest through OpenSSL's EVP interface, which uses the CPU's SHA instructions.
/// The context has one owner and is freed when the hasher is.
public class DigestHasher {
    public enum Algorithm: String, Sendable, CaseIterable {
        case sha256, sha512

        /// The digest's length in bytes.
        var length: Int { self == .sha256 ? 32 : 64 }
    }

    private let context: OpaquePointer
    private let length: Int

    public init(_ algorithm: Algorithm) {
        guard let context = EVP_MD_CTX_new() else { fatalError("EVP_MD_CTX_new: out of memory") }
        self.context = context
        length = algorithm.length
        let md = algorithm == .sha256 ? EVP_sha256() : EVP_sha512()
        precondition(EVP_DigestInit_ex(context, md, nil) == 1, "EVP_DigestInit_ex(\(algorithm)) failed")
    }

    deinit { EVP_MD_CTX_free(context) }

    public final func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        precondition(EVP_DigestUpdate(context, base, bytes.count) == 1, "EVP_DigestUpdate failed")
    }

    public final func update(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { update($0) }
    }

    /// The digest as lowercase hex. The hasher is spent afterwards.
    public final func finalize() -> String {
        var digest = [UInt8](repeating: 0, count: length)
        var written: UInt32 = 0
        precondition(
            EVP_DigestFinal_ex(context, &digest, &written) == 1 && written == length, "EVP_DigestFinal_ex failed")
        return Hex.encode(digest)
    }

    public static func hex(_ algorithm: Algorithm, of bytes: [UInt8]) -> String {
        let hasher = DigestHasher(algorithm)
        hasher.update(bytes)
        return hasher.finalize()
    }
}

/// SHA-256: what the manifest signs for every image, and what read-backs compare.
public final class SHA256Hasher: DigestHasher {
    public init() { super.init(.sha256) }

    public static func hex(of bytes: [UInt8]) -> String { hex(.sha256, of: bytes) }
}

public enum Hex {
    private static let digits = Array("0123456789abcdef".utf8)

    public static func encode(_ bytes: some Sequence<UInt8>) -> String {
        var out = [UInt8]()
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// True for a SHA-256 in the manifest's spelling: 64 lowercase hex digits.
    public static func isSHA256(_ text: String) -> Bool {
        text.utf8.count == 64 && text.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
    }
}
