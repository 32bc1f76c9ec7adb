import TwinslotCore

/// The power was cut: this and every later operation on the storage fails.
public struct PowerCut: PowerCutSignal, CustomStringConvertible {
    public var operation: Int
    public var description: String { "power cut before durable operation \(operation)" }
}

/// What survives a power cut of the writes that were not yet durable.
public enum PersistenceOutcome: Sendable, Equatable, CustomStringConvertible {
    /// Every write not yet fsynced is lost; no undurable rename or create happened.
    case nothingPersisted
    /// Everything reached the medium.
    case everythingPersisted
    /// Everything but the very last write, which reached the medium only for its first
    /// `sectors` 512-byte sectors (at least one, fewer than all).
    case tornLastWrite
    /// Each pending write persists or not by a seeded coin; a random prefix of the pending
    /// file-system (namespace) operations persists.
    case randomSubset(seed: UInt64)

    public var description: String {
        switch self {
        case .nothingPersisted: "nothing-persisted"
        case .everythingPersisted: "everything-persisted"
        case .tornLastWrite: "torn-last-write"
        case .randomSubset(let seed): "random-subset(seed \(seed))"
        }
    }
}
