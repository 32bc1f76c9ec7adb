/// The two sides of an A/B device. The slots of one letter form a slot group that boots and
/// flips together, so a letter names a group as well.
public enum SlotLetter: String, Sendable, Codable, CaseIterable, Comparable {
    case a = "A"
    case b = "B"

    public var other: SlotLetter { self == .a ? .b : .a }

    public static func < (lhs: SlotLetter, rhs: SlotLetter) -> Bool { lhs.rawValue < rhs.rawValue }

    /// Accepts "A", "a", "B", "b".
    public init?(name: String) {
        switch name.uppercased() {
        case "A": self = .a
        case "B": self = .b
        default: return nil
        }
    }
}
