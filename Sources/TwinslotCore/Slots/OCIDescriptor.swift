#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Why an OCI slot's image was refused: a bad bundle (exit 10), like any image that is not what
/// its slot takes. It names the image, where in the layout the problem is (a file such as
/// `index.json` or `blobs/sha256/…`, or the chain of descriptors that led to a blob) and what
/// is wrong with it.
public struct OCILayoutError: ClassifiedError, Equatable {
    public var member: String
    public var location: String
    public var reason: String

    public var failureClass: FailureClass { .badBundle }

    public var description: String {
        "image '\(member)' is not a valid OCI image layout: \(location): \(reason)"
    }
}

/// A digest as the image-spec writes it (descriptor.md, "Digests"): `algorithm ":" encoded`, the
/// grammar checked first, then the algorithm's own rule. Only algorithms twinslot can compute
/// are accepted, since a digest that cannot be checked proves nothing about the blob.
struct OCIDigest: Equatable {
    var algorithm: DigestHasher.Algorithm
    /// Lowercase hex: a plain file name, never `..` or a path.
    var encoded: String

    /// The blob's path in the layout, relative to its root.
    var blobPath: String { "blobs/\(algorithm.rawValue)/\(encoded)" }
    var text: String { "\(algorithm.rawValue):\(encoded)" }

    /// Parses `text`, or says why it is not a digest twinslot verifies.
    static func parse(_ text: String) -> Result<OCIDigest, Refusal> {
        let parts = text.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2, isAlgorithm(parts[0]), isEncoded(parts[1]) else {
            return .failure(
                Refusal("digest \(quoted(text)) does not match the image-spec's grammar algorithm \":\" encoded"))
        }
        guard let algorithm = DigestHasher.Algorithm(rawValue: String(parts[0])) else {
            return .failure(
                Refusal("digest \(quoted(text)): algorithm '\(parts[0])' is not supported (sha256, sha512)"))
        }
        let encoded = String(parts[1])
        guard isHex(encoded, of: algorithm) else {
            return .failure(
                Refusal(
                    "digest \(quoted(text)): a \(algorithm.rawValue) digest is \(algorithm.length * 2) lowercase hex digits"
                ))
        }
        return .success(OCIDigest(algorithm: algorithm, encoded: encoded))
    }

    /// `algorithm-component (algorithm-separator algorithm-component)*`, components `[a-z0-9]+`,
    /// separators `[+._-]`.
    static func isAlgorithm(_ text: Substring) -> Bool {
        var previousWasSeparator = true
        for byte in text.utf8 {
            let separator =
                byte == UInt8(ascii: "+") || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "_")
                || byte == UInt8(ascii: "-")
            if separator {
                if previousWasSeparator { return false }
            } else if !(isDigit(byte) || (0x61...0x7a).contains(byte)) {
                return false
            }
            previousWasSeparator = separator
        }
        return !previousWasSeparator
    }

    /// `[a-zA-Z0-9=_-]+`: no `.`, no `/`, so never a path.
    static func isEncoded(_ text: Substring) -> Bool {
        !text.isEmpty
            && text.utf8.allSatisfy {
                isDigit($0) || (0x41...0x5a).contains($0) || (0x61...0x7a).contains($0) || $0 == UInt8(ascii: "=")
                    || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-")
            }
    }

    /// sha256 and sha512 (descriptor.md, "Registered algorithms"): lowercase hex of the digest's length.
    static func isHex(_ text: String, of algorithm: DigestHasher.Algorithm) -> Bool {
        text.utf8.count == algorithm.length * 2 && text.utf8.allSatisfy { isDigit($0) || (0x61...0x66).contains($0) }
    }

    private static func isDigit(_ byte: UInt8) -> Bool { (0x30...0x39).contains(byte) }
}

/// Why one value of a layout is refused, before the caller says where it is.
struct Refusal: Error, Equatable {
    var reason: String
    init(_ reason: String) { self.reason = reason }
}

/// Quotes a value read from the layout for a message, control bytes escaped (a newline in a
/// digest must not forge a log line).
func quoted(_ text: String) -> String {
    var out = "\""
    for scalar in text.unicodeScalars.prefix(200) {
        if scalar.value < 0x20 || scalar.value == 0x7f || scalar == "\"" || scalar == "\\" {
            out += scalar.escaped(asASCII: true)
        } else {
            out.unicodeScalars.append(scalar)
        }
    }
    return out + (text.unicodeScalars.count > 200 ? "…\"" : "\"")
}

/// A content descriptor (descriptor.md, "Properties"): what points at a blob.
struct OCIDescriptor {
    var mediaType: String
    var digest: OCIDigest
    var size: UInt64
    /// The embedded content (`data`, base64), which must be the blob itself.
    var data: [UInt8]?

    /// The media types whose blobs are documents twinslot reads further; every other type's
    /// blob is checked for size and digest only (image-index.md: an unknown type is no error).
    static let imageIndex = "application/vnd.oci.image.index.v1+json"
    static let imageManifest = "application/vnd.oci.image.manifest.v1+json"
    /// Docker's schema 2 equivalents, which `skopeo copy --format v2s2` and older tools write.
    static let dockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json"
    static let dockerManifest = "application/vnd.docker.distribution.manifest.v2+json"

    static func parse(_ value: StrictJSON.Value) -> Result<OCIDescriptor, Refusal> {
        guard value.names != nil else { return .failure(Refusal("a descriptor must be a JSON object")) }
        guard case .string(let mediaType)? = value["mediaType"] else {
            return .failure(Refusal("the descriptor has no string 'mediaType'"))
        }
        guard isMediaType(mediaType) else {
            return .failure(Refusal("mediaType \(quoted(mediaType)) is not an RFC 6838 type/subtype"))
        }
        guard case .string(let digestText)? = value["digest"] else {
            return .failure(Refusal("the descriptor has no string 'digest'"))
        }
        let digest: OCIDigest
        switch OCIDigest.parse(digestText) {
        case .success(let parsed): digest = parsed
        case .failure(let refusal): return .failure(refusal)
        }
        guard case .number(let sizeText)? = value["size"] else {
            return .failure(Refusal("the descriptor has no integer 'size'"))
        }
        guard let size = UInt64(sizeText), size <= UInt64(Int64.max) else {
            return .failure(Refusal("size \(sizeText) is not an integer from 0 to 2^63-1"))
        }
        if let urls = value["urls"] {
            guard case .array(let entries) = urls, entries.allSatisfy({ if case .string = $0 { true } else { false } })
            else { return .failure(Refusal("'urls' must be an array of strings")) }
        }
        if let refusal = checkAnnotations(value["annotations"]) { return .failure(refusal) }
        if let artifact = value["artifactType"] {
            guard case .string(let type) = artifact, isMediaType(type) else {
                return .failure(Refusal("'artifactType' must be an RFC 6838 type/subtype"))
            }
        }
        if let platform = value["platform"] {
            guard case .string? = platform["architecture"], case .string? = platform["os"] else {
                return .failure(Refusal("'platform' must be an object with string 'architecture' and 'os'"))
            }
        }
        var data: [UInt8]?
        if let embedded = value["data"] {
            guard case .string(let text) = embedded, let bytes = Data(base64Encoded: text) else {
                return .failure(Refusal("'data' must be a base64 string"))
            }
            data = Array(bytes)
        }
        return .success(OCIDescriptor(mediaType: mediaType, digest: digest, size: size, data: data))
    }

    /// `annotations`, where present, maps strings to strings (annotations.md, "Rules").
    static func checkAnnotations(_ value: StrictJSON.Value?) -> Refusal? {
        guard let value else { return nil }
        guard case .object(let members) = value,
            members.allSatisfy({ if case .string = $0.value { true } else { false } })
        else { return Refusal("'annotations' must be an object of strings") }
        return nil
    }

    /// RFC 6838 4.2: `type "/" subtype`, each a restricted-name (a letter or digit, then at most
    /// 126 of letters, digits and `!#$&-^_.+`).
    static func isMediaType(_ text: String) -> Bool {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        return parts.count == 2 && parts.allSatisfy(isRestrictedName)
    }

    private static func isRestrictedName(_ name: Substring) -> Bool {
        let bytes = Array(name.utf8)
        guard let first = bytes.first, bytes.count <= 127, isAlphanumeric(first) else { return false }
        return bytes.allSatisfy { isAlphanumeric($0) || Array("!#$&-^_.+".utf8).contains($0) }
    }

    private static func isAlphanumeric(_ byte: UInt8) -> Bool {
        (0x30...0x39).contains(byte) || (0x41...0x5a).contains(byte) || (0x61...0x7a).contains(byte)
    }
}
