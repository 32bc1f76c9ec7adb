/// Version policy for installs.
public struct SecurityPolicy: Sendable, Equatable {
    /// Refuse bundles whose security version is below the installed one.
    public var antiRollback: Bool
    /// Allow installing a bundle with the same security version as the committed one.
    public var allowSameVersion: Bool
    /// Allow a bundle whose version (VersionOrder) is older than the running group's. The
    /// security version is the floor a vendor raises for fixes; this rule is for operators who
    /// want no step back at all, as SWUpdate's `-N` and RAUC's `min-bundle-version` offer.
    public var allowOlderVersion: Bool

    public init(antiRollback: Bool = true, allowSameVersion: Bool = true, allowOlderVersion: Bool = true) {
        self.antiRollback = antiRollback
        self.allowSameVersion = allowSameVersion
        self.allowOlderVersion = allowOlderVersion
    }
}

/// Where twinslot tells the world what it did: reports, hooks, metrics.
public struct ReportingConfig: Sendable, Equatable {
    public static let defaultHooksDirectory = "/etc/twinslot/hooks.d"

    public enum HookFailure: String, Sendable, Equatable {
        /// A failing pre-install hook refuses the install; a failing later hook is reported.
        case abort
        /// Hook failures are reported and otherwise ignored.
        case ignore
    }

    /// Every executable here runs at each hook point, in name order (TWINSLOT_HOOK says which).
    public var hooksDirectory: String
    public var hookFailure: HookFailure
    /// The Prometheus textfile (node_exporter textfile collector); nil: `<data>/twinslot.prom`.
    public var metricsTextfile: String?
    /// How many operation reports `<data>/reports` keeps.
    public var reportsKept: Int

    public init(
        hooksDirectory: String = ReportingConfig.defaultHooksDirectory, hookFailure: HookFailure = .abort,
        metricsTextfile: String? = nil, reportsKept: Int = 20
    ) {
        self.hooksDirectory = hooksDirectory
        self.hookFailure = hookFailure
        self.metricsTextfile = metricsTextfile
        self.reportsKept = reportsKept
    }
}
