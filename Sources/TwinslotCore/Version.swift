/// The release this binary is, printed by `twinslot --version` and sent to servers that ask.
/// One place, bumped with each release together with `TrustTime.releaseTime` (the signature
/// check's floor on boards without a real-time clock); packaging reads it.
public enum TwinslotVersion {
    public static let current = "0.3.0"
}
