import TwinslotCore

/// The harness's stories and what a group must hold after a partial bundle's install.
extension CrashHarness {
    /// Which update story the harness cuts.
    public enum Story: Sendable {
        /// Full bundles: v2 committed, v3 rolled back (the type's documentation).
        case full
        /// Partial bundles, on the same device (B runs a committed v1, A holds its factory image):
        /// install 1.1, rootfs only, into A (firmware and apps copied from B), reboot (commit);
        /// install 1.2, apps only, into B (rootfs and firmware copied from A, where they are
        /// 1.1's rootfs and the copy of 1.0's firmware), reboot (commit).
        case partial

        enum Step {
            case install(String)
            case reboot
        }

        struct Bundle {
            var version: String
            var securityVersion: UInt64
            var classes: Set<String>
        }

        static let everyClass: Set<String> = ["rootfs", "firmware", "apps"]

        /// 1.0 installs B before the story; 4.0 is what the harness installs after each cut.
        var bundles: [Bundle] {
            switch self {
            case .full:
                ["1.0", "2.0", "3.0", "4.0"].enumerated().map {
                    Bundle(version: $0.element, securityVersion: UInt64($0.offset + 1), classes: Self.everyClass)
                }
            case .partial:
                [
                    Bundle(version: "1.0", securityVersion: 1, classes: Self.everyClass),
                    Bundle(version: "1.1", securityVersion: 2, classes: ["rootfs"]),
                    Bundle(version: "1.2", securityVersion: 3, classes: ["apps"]),
                    Bundle(version: "4.0", securityVersion: 4, classes: Self.everyClass),
                ]
            }
        }

        var steps: [Step] {
            switch self {
            case .full: [.install("2.0"), .reboot, .install("3.0"), .reboot, .reboot]
            case .partial: [.install("1.1"), .reboot, .install("1.2"), .reboot]
            }
        }

        /// Checks where the story ends when nothing cuts it.
        func checkEnd(_ status: StatusReport) throws {
            switch self {
            case .full:
                guard status.booted == .a, status.primary == .a, status.groups[0].version == "2.0",
                    status.last?.outcome == .rolledBack
                else {
                    throw SimulationError("the story without a cut did not end on v2 after rolling back v3: \(status)")
                }
            case .partial:
                guard status.booted == .b, status.primary == .b, status.groups[1].version == "1.2",
                    status.last?.outcome == .committed
                else { throw SimulationError("the partial story without a cut did not end on 1.2: \(status)") }
            }
        }
    }

    /// The content a group must hold for a model name: a version ("factory" included), or
    /// "V+W", partial bundle V installed over a group that held W (recursively).
    func expectedContent(_ name: String) -> Content? {
        guard let plus = name.firstIndex(of: "+") else { return contents.first { $0.version == name } }
        guard let base = expectedContent(String(name[name.index(after: plus)...])) else { return nil }
        return expectedContent(String(name[..<plus]), over: base)
    }

    /// Bundle `version`'s images in the classes it carries, `source`'s in the others: what a
    /// group holds after installing `version` from a group holding `source`.
    func expectedContent(_ version: String, over source: Content) -> Content? {
        guard let bundle = contents.first(where: { $0.version == version }), let classes = carried[version] else {
            return nil
        }
        return Content(
            version: version, rootfs: classes.contains("rootfs") ? bundle.rootfs : source.rootfs,
            firmware: classes.contains("firmware") ? bundle.firmware : source.firmware,
            apps: classes.contains("apps") ? bundle.apps : source.apps)
    }
}
