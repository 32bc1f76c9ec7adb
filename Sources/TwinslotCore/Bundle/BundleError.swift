/// Why a bundle was refused. Every case names the member, and where it applies the byte offset,
/// so a device maker can tell a broken build from a tampered download.
public enum BundleError: ClassifiedError, Equatable {
    case unreadable(path: String, reason: String)
    /// Building a bundle: an input image cannot be read (not the bundle: a builder who reads
    /// "cannot read bundle" looks at the wrong file).
    case imageUnreadable(slotClass: String, path: String, reason: String)
    /// Building or signing a bundle: its output cannot be written.
    case unwritable(path: String, reason: String)
    case empty(source: String)
    case notATar(detail: String)
    case truncated(member: String?, detail: String)
    case unexpectedMember(expected: String, found: String)
    case missingMember(String)
    case extraMember(String)
    case duplicateMember(String)
    case unsafeMemberName(String, reason: String)
    case unsupportedMemberType(member: String, type: String)
    case memberTooLarge(member: String, limit: UInt64, size: UInt64)
    case memberSizeMismatch(member: String, declared: UInt64, actual: UInt64)
    case unsigned
    case manifestInvalid(String)
    case unsupportedFormatVersion(Int)
    case corruptPayload(member: String, offset: UInt64, detail: String)
    case inflatesBeyondDeclared(member: String, declared: UInt64)
    /// An image whose size the bundle does not declare (SWUpdate) decodes to more than the cap.
    case exceedsLimit(member: String, limit: UInt64)
    case imageSizeMismatch(member: String, declared: UInt64, actual: UInt64)
    case hashMismatch(member: String, what: String, expected: String, actual: String)
    case incompatible(expected: String, found: String)
    case unknownSlotClass(String, known: [String])
    case slotContentMismatch(slotClass: String, slotType: String, content: String)
    /// The bundle's tar breaks a rule libarchive does not enforce (a member type, trailing data).
    case tarFormat(TarFormatViolation)
    /// A directory image's inner tar has an entry install would not extract, or is not a tar:
    /// `bundle verify` and install refuse it alike (`ImageTarRules`).
    case imageEntry(member: String, entry: String?, reason: String)

    public var failureClass: FailureClass {
        switch self {
        case .unreadable, .imageUnreadable, .unwritable: .io
        case .unsigned: .untrusted
        case .incompatible, .unknownSlotClass, .slotContentMismatch: .incompatible
        default: .badBundle
        }
    }

    public var description: String {
        switch self {
        case .unreadable(let path, let reason): "cannot read bundle \(path): \(reason)"
        case .imageUnreadable(let slotClass, let path, let reason):
            "cannot read the image for slot class '\(slotClass)' at \(path): \(reason)"
        case .unwritable(let path, let reason): "cannot write \(path): \(reason)"
        case .empty(let source): "bundle \(source) is empty"
        case .notATar(let detail): "not a twinslot bundle (a POSIX tar archive was expected): \(detail)"
        case .truncated(let member, let detail):
            "bundle is truncated" + (member.map { " inside member '\($0)'" } ?? "") + ": \(detail)"
        case .unexpectedMember(let expected, let found):
            "member '\(found)' found where '\(expected)' was expected (members out of order or unexpected)"
        case .missingMember(let name): "bundle ends before member '\(name)' that the manifest lists"
        case .extraMember(let name): "member '\(name)' is not listed in the manifest"
        case .duplicateMember(let name): "member name '\(name)' appears twice"
        case .unsafeMemberName(let name, let reason): "unsafe member name '\(name)': \(reason)"
        case .unsupportedMemberType(let member, let type):
            "member '\(member)' is a \(type); only regular files are allowed in a bundle"
        case .memberTooLarge(let member, let limit, let size):
            "member '\(member)' is \(size) bytes, more than the limit of \(limit)"
        case .memberSizeMismatch(let member, let declared, let actual):
            "member '\(member)' is \(actual) bytes but the manifest declares \(declared) compressed bytes"
        case .unsigned: "bundle is not signed: 'manifest.sig' must follow 'manifest.json'"
        case .manifestInvalid(let detail): "manifest.json is invalid: \(detail)"
        case .unsupportedFormatVersion(let version):
            "manifest format_version \(version) is not supported (this twinslot reads format_version 1)"
        case .corruptPayload(let member, let offset, let detail):
            "member '\(member)' has corrupt compressed data at compressed byte \(offset): \(detail)"
        case .inflatesBeyondDeclared(let member, let declared):
            "member '\(member)' decompresses to more than its declared \(declared) bytes"
        case .exceedsLimit(let member, let limit):
            "member '\(member)' decompresses to more than \(limit) bytes, the most its target can take"
        case .imageSizeMismatch(let member, let declared, let actual):
            "member '\(member)' decompresses to \(actual) bytes but the manifest declares \(declared)"
        case .hashMismatch(let member, let what, let expected, let actual):
            "member '\(member)': SHA-256 of the \(what) is \(actual), the manifest says \(expected)"
        case .incompatible(let expected, let found):
            "bundle is for '\(found)' but this device is '\(expected)'"
        case .unknownSlotClass(let name, let known):
            "bundle has an image for slot class '\(name)', which this device does not have (it has: "
                + known.joined(separator: ", ") + ")"
        case .tarFormat(let violation): "bundle breaks the tar rules: \(violation)"
        case .imageEntry(let member, let entry, let reason):
            "directory image '\(member)' is refused: " + (entry.map { "entry '\($0)': " } ?? "") + reason
        case .slotContentMismatch(let slotClass, let slotType, let content):
            "slot class '\(slotClass)' is a \(slotType) slot but the bundle's image is \(content) content"
        }
    }
}
