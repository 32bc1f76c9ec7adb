/// The release this binary is, printed by `twinslot --version` and sent to servers that ask.
/// One place, bumped with each release; packaging (scripts/package-deb.sh, when it exists) reads it.
public enum TwinslotVersion {
    public static let current = "0.3.0"
}
