/// Why a SWUpdate `.swu` was refused, beyond what `BundleError` already says. Classes follow
/// docs/swupdate.md: a malformed or unsupported description is a bad bundle (10); an image whose
/// target is not a slot of the group being installed is incompatible (12).
public enum SwuError: ClassifiedError, Equatable {
    /// The cpio archive cannot be read (libarchive's reason).
    case archive(detail: String)
    /// `sw-description.sig` does not follow `sw-description`.
    case unsigned
    /// sw-description is not valid libconfig.
    case syntax(line: Int, message: String)
    /// sw-description is valid libconfig but not a description twinslot can use.
    case invalid(line: Int, message: String)
    /// A feature twinslot does not implement (scripts, other handlers, compressions, …).
    case unsupported(line: Int, feature: String)
    /// An image's target is not a slot of the target group.
    case unmappedTarget(filename: String, target: String, group: SlotLetter, detail: String)

    public var failureClass: FailureClass {
        switch self {
        case .archive, .syntax, .invalid, .unsupported: .badBundle
        case .unsigned: .untrusted
        case .unmappedTarget: .incompatible
        }
    }

    public var description: String {
        switch self {
        case .archive(let detail): "cannot read the .swu (a cpio archive, newc or crc): \(detail)"
        case .unsigned:
            "the .swu is not signed: 'sw-description.sig' must follow 'sw-description' (twinslot installs only signed .swu files)"
        case .syntax(let line, let message): "sw-description line \(line): \(message)"
        case .invalid(let line, let message): "sw-description line \(line): \(message)"
        case .unsupported(let line, let feature):
            "sw-description line \(line): \(feature) is not supported by twinslot (see docs/swupdate.md)"
        case .unmappedTarget(let filename, let target, let group, let detail):
            "image '\(filename)' targets '\(target)', which is not a slot of group \(group.rawValue): \(detail)"
        }
    }
}
