#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The signed description of a bundle (docs/bundle-format.md). Its exact bytes are what
/// `manifest.sig` signs, so it is parsed only after the signature verified.
public struct Manifest: Codable, Sendable, Equatable {
    public static let formatVersion = 1
    public static let memberName = "manifest.json"
    public static let signatureMemberName = "manifest.sig"
    public static let maxSize: UInt64 = 1 << 20
    public static let maxSignatureSize: UInt64 = 64 << 10

    public var formatVersion: Int
    public var compatible: String
    public var version: String
    public var securityVersion: UInt64
    public var created: String
    public var description: String?
    public var images: [Image]

    public enum Content: String, Codable, Sendable {
        /// Written byte for byte into a raw slot.
        case raw
        /// A tar archive extracted into a directory slot.
        case tar
    }

    public struct Image: Codable, Sendable, Equatable {
        public var slotClass: String
        public var member: String
        public var content: Content
        public var size: UInt64
        public var sha256: String
        public var compressedSize: UInt64
        public var compressedSha256: String
        /// False while the image's uncompressed size (and, when compressed, its SHA-256) is
        /// unknown: a SWUpdate image, whose sw-description declares only the stored member's
        /// hash. Never encoded; native manifests always declare both.
        public var sizeKnown: Bool = true

        enum CodingKeys: String, CodingKey {
            case slotClass = "slot_class"
            case member, content, size, sha256
            case compressedSize = "compressed_size"
            case compressedSha256 = "compressed_sha256"
        }
    }

    enum CodingKeys: String, CodingKey {
        case formatVersion = "format_version"
        case compatible, version
        case securityVersion = "security_version"
        case created, description, images
    }

    public init(
        compatible: String, version: String, securityVersion: UInt64, created: String, description: String? = nil,
        images: [Image]
    ) {
        self.formatVersion = Self.formatVersion
        self.compatible = compatible
        self.version = version
        self.securityVersion = securityVersion
        self.created = created
        self.description = description
        self.images = images
    }

    /// The canonical bytes twinslot writes: sorted keys, two-space indentation, trailing newline.
    public func encoded() -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        let data = try! encoder.encode(self)
        return Array(data) + [0x0a]
    }

    /// The keys of the top-level object and of each image object: exactly these, no others.
    static let topKeys: Set<String> = [
        "format_version", "compatible", "version", "security_version", "created", "description", "images",
    ]
    static let imageKeys: Set<String> = [
        "slot_class", "member", "content", "size", "sha256", "compressed_size", "compressed_sha256",
    ]

    /// Parses and validates manifest bytes. The strict reader runs first, so a duplicate name, a
    /// byte order mark or an unknown key is refused before any value is believed.
    public static func decode(_ bytes: [UInt8]) throws -> Manifest {
        let tree: StrictJSON.Value
        do {
            tree = try StrictJSON.parse(bytes)
        } catch {
            throw BundleError.manifestInvalid("not valid JSON (\(error))")
        }
        guard let keys = tree.names else { throw BundleError.manifestInvalid("the top level must be a JSON object") }
        guard case .number(let formatText)? = tree["format_version"], let format = Int(formatText) else {
            throw BundleError.manifestInvalid("missing integer 'format_version'")
        }
        guard format == formatVersion else { throw BundleError.unsupportedFormatVersion(format) }
        if let unknown = keys.sorted().first(where: { !topKeys.contains($0) }) {
            throw BundleError.manifestInvalid("unknown key '\(unknown)'")
        }
        if case .array(let images)? = tree["images"] {
            for (index, image) in images.enumerated() {
                if let unknown = image.names?.first(where: { !imageKeys.contains($0) }) {
                    throw BundleError.manifestInvalid("unknown key 'images[\(index)].\(unknown)'")
                }
            }
        }
        let manifest: Manifest
        do {
            manifest = try JSONDecoder().decode(Manifest.self, from: Data(bytes))
        } catch let DecodingError.keyNotFound(key, context) {
            throw BundleError.manifestInvalid("missing key '\(Self.path(context.codingPath + [key]))'")
        } catch let DecodingError.typeMismatch(_, context) {
            throw BundleError.manifestInvalid("wrong type at '\(Self.path(context.codingPath))'")
        } catch let DecodingError.dataCorrupted(context) {
            throw BundleError.manifestInvalid("bad value at '\(Self.path(context.codingPath))'")
        } catch {
            throw BundleError.manifestInvalid("\(error)")
        }
        try manifest.validate()
        return manifest
    }

    private static func path(_ keys: [any CodingKey]) -> String {
        keys.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
    }

    /// Rules a second implementation must enforce too (docs/bundle-format.md, "Validation").
    public func validate() throws {
        func fail(_ text: String) -> BundleError { .manifestInvalid(text) }
        guard !compatible.isEmpty, compatible.utf8.count <= 256 else {
            throw fail("'compatible' must be 1 to 256 bytes")
        }
        guard !version.isEmpty, version.utf8.count <= 128 else { throw fail("'version' must be 1 to 128 bytes") }
        guard !images.isEmpty else {
            throw fail(
                "'images' is empty: a bundle carries at least one image (a partial bundle leaves some classes out, never all)"
            )
        }
        var classes = Set<String>()
        var members = Set<String>()
        for (index, image) in images.enumerated() {
            let at = "images[\(index)]"
            guard Self.isValidSlotClass(image.slotClass) else {
                throw fail("\(at).slot_class '\(image.slotClass)' must match [a-z][a-z0-9_-]{0,31}")
            }
            guard classes.insert(image.slotClass).inserted else {
                throw fail("slot class '\(image.slotClass)' has two images")
            }
            if let reason = Self.memberNameProblem(image.member) {
                throw BundleError.unsafeMemberName(image.member, reason: reason)
            }
            guard members.insert(image.member).inserted else { throw BundleError.duplicateMember(image.member) }
            guard Hex.isSHA256(image.sha256) else { throw fail("\(at).sha256 is not 64 lowercase hex digits") }
            guard Hex.isSHA256(image.compressedSha256) else {
                throw fail("\(at).compressed_sha256 is not 64 lowercase hex digits")
            }
        }
    }

    public static func isValidSlotClass(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard (1...32).contains(bytes.count), (0x61...0x7a).contains(bytes[0]) else { return false }
        return bytes.allSatisfy { (0x61...0x7a).contains($0) || (0x30...0x39).contains($0) || $0 == 0x2d || $0 == 0x5f }
    }

    /// Member names are single plain file names, so no path can escape a target directory.
    public static func memberNameProblem(_ name: String) -> String? {
        if name.isEmpty { return "empty name" }
        if name.hasPrefix("/") { return "absolute path" }
        if name.split(separator: "/", omittingEmptySubsequences: false).contains("..") { return "contains '..'" }
        if name.contains("/") { return "contains '/'; members are plain file names" }
        if name == "." { return "is '.'" }
        if name == memberName || name == signatureMemberName { return "reserved name" }
        if name.utf8.count > 100 { return "longer than 100 bytes" }
        let allowed = name.utf8.allSatisfy {
            (0x61...0x7a).contains($0) || (0x41...0x5a).contains($0) || (0x30...0x39).contains($0)
                || $0 == 0x2d || $0 == 0x5f || $0 == 0x2e
        }
        return allowed ? nil : "only letters, digits, '.', '-' and '_' are allowed"
    }
}
