/// How a slot is written.
public enum SlotType: String, Sendable, Equatable, CaseIterable {
    /// A block device or a file: the image is written byte for byte.
    case raw
    /// A directory tree extracted from a tar image, made current by an atomic symlink swap.
    case directory
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
    /// Directory slots: the symlink pointing at the current slot's directory. Nil for raw slots.
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
