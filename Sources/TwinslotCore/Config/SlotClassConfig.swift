/// How a slot is written.
public enum SlotType: String, Sendable, Equatable, CaseIterable {
    /// A block device or a file: the image is written byte for byte.
    case raw
    /// A directory tree extracted from a tar image, made current by an atomic symlink swap.
    case directory
    /// A directory slot whose tree must be an OCI image layout (`oci-layout`, `index.json`,
    /// `blobs/`), checked blob by blob before it is staged (`OCILayoutVerifier`), so that a
    /// container runtime reading the slot finds every image it names, intact.
    case oci

    /// Directory and OCI slots: a tree extracted from a tar image, with a `current` symlink.
    public var isDirectoryTree: Bool { self != .raw }
}

/// One slot class: its two slots, A and B.
public struct SlotClassConfig: Sendable, Equatable {
    /// The class name bundles refer to (`[a-z][a-z0-9_-]*`).
    public var name: String
    public var type: SlotType
    /// The path of slot A.
    public var a: String
    /// The path of slot B.
    public var b: String
    /// Directory and OCI slots: the symlink pointing at the current slot's directory. Nil for raw slots.
    public var current: String?

    public init(name: String, type: SlotType, a: String, b: String, current: String? = nil) {
        self.name = name
        self.type = type
        self.a = a
        self.b = b
        self.current = current
    }

    /// The path of the slot of this class in group `letter`.
    public func path(for letter: SlotLetter) -> String {
        letter == .a ? a : b
    }
}
