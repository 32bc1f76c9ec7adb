#if canImport(Glibc)
    import Glibc
#endif

/// Why an install, a boot-time step or a mark was refused or failed.
public enum InstallError: ClassifiedError, Equatable {
    case busy(lock: String)
    case lockUnavailable(path: String, errno: Int32)
    case downgrade(bundle: UInt64, installed: UInt64)
    /// `security.allow-older-version = false` and the bundle's version is older than the running one.
    case olderVersion(bundle: String, running: String)
    /// The bundle carries no image for this device (a partial bundle needs at least one).
    case emptyBundle
    case unknownBootedGroup(detail: String)
    case noBootableGroup
    case nothingToMark(String)
    case runningGroupNotCommitted(booted: SlotLetter, primary: SlotLetter)
    /// The running group failed its health checks and was rolled back; the reboot into the
    /// primary has not happened yet. Committing it ('mark-good') would keep what failed.
    case runningGroupRolledBack(booted: SlotLetter, primary: SlotLetter)

    public var failureClass: FailureClass {
        switch self {
        case .busy: .busy
        case .lockUnavailable: .io
        case .downgrade, .olderVersion: .downgrade
        case .emptyBundle: .badBundle
        case .unknownBootedGroup, .noBootableGroup, .nothingToMark, .runningGroupNotCommitted,
            .runningGroupRolledBack:
            .state
        }
    }

    public var description: String {
        switch self {
        case .busy(let lock): "another twinslot operation is running (it holds \(lock)); try again when it ends"
        case .lockUnavailable(let path, let code): "cannot open the lock \(path): \(String(cString: strerror(code)))"
        case .downgrade(let bundle, let installed):
            "bundle has security version \(bundle), below the installed \(installed): refusing the downgrade"
        case .olderVersion(let bundle, let running):
            "bundle version \(bundle) is older than the running \(running) and security.allow-older-version "
                + "is false: refusing the downgrade"
        case .emptyBundle:
            "bundle carries no image: a bundle must carry at least one slot class (the classes it does not carry "
                + "are copied from the running group)"
        case .unknownBootedGroup(let detail): "cannot tell which slot group booted: \(detail)"
        case .noBootableGroup: "the bootloader has no bootable slot group"
        case .nothingToMark(let detail): detail
        case .runningGroupNotCommitted(let booted, let primary):
            "the running group \(booted.rawValue) is not committed (the primary is \(primary.rawValue)); "
                + "installing now would overwrite the fallback. Run 'twinslot boot' or 'twinslot mark-good' first"
        case .runningGroupRolledBack(let booted, let primary):
            "the running group \(booted.rawValue) failed its health checks and is rolled back: reboot to return to "
                + "group \(primary.rawValue), then install again (installing now would overwrite the fallback)"
        }
    }
}
