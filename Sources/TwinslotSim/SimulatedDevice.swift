import SystemPackage
import TwinslotCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// A simulated A/B device in a directory: file-backed raw slots (rootfs, firmware), a directory
/// slot class (apps) made current by a symlink, the GRUB scheme in a grubenv file, and a file
/// that records which group "booted". Everything twinslot does to it is what it would do to a
/// real device; only the power-on is simulated, by `reboot`, which runs the grub.cfg selection
/// (GrubBootSelection) exactly as docs/bootloaders.md's snippet does.
///
/// Layout of DIR:
/// ```
/// system.toml   keyring.pem   grubenv   booted   boot-id (a new one at every `reboot`)
/// slots/rootfs-a.img  slots/rootfs-b.img  slots/firmware-a.img  slots/firmware-b.img
/// apps/a/  apps/b/  apps/current -> apps/a
/// data/         journal, lock, reports/, twinslot.prom
/// hooks.d/      hook executables (TWINSLOT_HOOK says which point)
/// reboot-requests  one line each time the boot service asked for a reboot
/// ```
public struct SimulatedDevice {
    public static let compatible = "twinslot-sim"

    public let directory: String
    public var configPath: String { directory + "/system.toml" }

    public init(directory: String) {
        self.directory = directory
    }

    public func loadDevice(storage: any Storage = PosixStorage()) throws -> Device {
        try Device(config: try SystemConfig.load(path: configPath), storage: storage)
    }

    /// The configuration a simulated device runs with.
    public func config(compatible: String = SimulatedDevice.compatible) -> SystemConfig {
        SystemConfig(
            compatible: compatible, dataDirectory: directory + "/data", keyring: directory + "/keyring.pem",
            bootloader: BootloaderConfig(
                backend: .sim(grubenv: directory + "/grubenv"), bootedSlot: .file(path: directory + "/booted"),
                // The simulated machine cannot restart itself: it records the request, and the
                // next `sim reboot` is the restart.
                rebootCommand: ["/bin/sh", "-c", "date -u +%FT%TZ >> '\(directory)/reboot-requests'"],
                bootIDPath: directory + "/boot-id"),
            slotClasses: [
                SlotClassConfig(
                    name: "rootfs", type: .raw, a: directory + "/slots/rootfs-a.img",
                    b: directory + "/slots/rootfs-b.img"),
                SlotClassConfig(
                    name: "firmware", type: .raw, a: directory + "/slots/firmware-a.img",
                    b: directory + "/slots/firmware-b.img"),
                SlotClassConfig(
                    name: "apps", type: .directory, a: directory + "/apps/a", b: directory + "/apps/b",
                    current: directory + "/apps/current"),
            ],
            // The apps image may ship its own self-test; a trial group commits only if it passes.
            health: HealthConfig(checks: [
                HealthCheckConfig(
                    name: "apps-selftest",
                    kind: .command([
                        "/bin/sh", "-c",
                        "test ! -e '\(directory)/apps/current/bin/selftest' || '\(directory)/apps/current/bin/selftest'",
                    ]), timeout: .seconds(10))
            ]),
            reporting: ReportingConfig(hooksDirectory: directory + "/hooks.d"))
    }

    /// Makes the device: factory content in group A, group B empty, A booted and adopted.
    @discardableResult
    public func create(keyring: String, compatible: String = SimulatedDevice.compatible) throws -> BootOutcome {
        let storage = PosixStorage()
        let fileManager = FileManager.default
        if fileManager.fileExists(atPath: configPath) {
            throw SimulationError(
                "\(directory) already holds a simulated device (\(configPath) exists): remove the directory or "
                    + "choose another one", class: .state)
        }
        // The keyring is read and parsed before anything is made: a wrong path (17) leaves no
        // half-made device behind.
        _ = try Keyring(contentsOf: keyring)
        guard let keyringBytes = fileManager.contents(atPath: keyring) else {
            throw SignatureError.keyring(path: keyring, problem: "cannot be read")
        }
        for sub in ["slots", "apps/a", "apps/b", "data", "hooks.d"] {
            try storage.makeDirectory(FilePath(directory + "/" + sub))
        }
        try storage.replaceFile(FilePath(directory + "/keyring.pem"), with: Array(keyringBytes))
        let factory = Array("twinslot simulated factory image\n".utf8)
        for name in ["rootfs", "firmware"] {
            try storage.replaceFile(
                FilePath(directory + "/slots/\(name)-a.img"), with: Array(repeating: factory, count: 64).flatMap { $0 })
            try storage.replaceFile(FilePath(directory + "/slots/\(name)-b.img"), with: [])
        }
        try storage.replaceFile(FilePath(directory + "/apps/a/VERSION"), with: Array("factory\n".utf8))
        try storage.makeSymlink(at: FilePath(directory + "/apps/current"), pointingTo: directory + "/apps/a")
        try SimBackend.provision(path: FilePath(directory + "/grubenv"), primary: .a, storage: storage)
        try storage.replaceFile(FilePath(directory + "/booted"), with: Array("A\n".utf8))
        try newBootID(storage: storage)
        try storage.replaceFile(FilePath(configPath), with: Array(config(compatible: compatible).renderTOML().utf8))
        return try BootService(device: try loadDevice()).run()
    }

    /// Power-on: the bootloader chooses a group (consuming its try); with `failBoot` the chosen
    /// group does not come up (a kernel panic, a hang) and the machine resets once more before
    /// anything runs. Then the boot service runs in the group that came up.
    public func reboot(
        failBoot: Bool = false, health: any HealthChecking = HealthChecker(), storage: any Storage = PosixStorage()
    )
        throws -> BootOutcome
    {
        let device = try loadDevice(storage: storage)
        let sim = SimBackend(path: FilePath(directory + "/grubenv"), storage: storage)
        guard var booted = try sim.simulateBoot() else { throw InstallError.noBootableGroup }
        if failBoot {
            guard let next = try sim.simulateBoot() else { throw InstallError.noBootableGroup }
            booted = next
        }
        try storage.replaceFile(FilePath(directory + "/booted"), with: Array("\(booted.rawValue)\n".utf8))
        try newBootID(storage: storage)
        return try BootService(device: device, health: health).run()
    }

    /// What the kernel does at each boot: a fresh random boot id.
    private func newBootID(storage: any Storage) throws {
        try storage.replaceFile(
            FilePath(directory + "/boot-id"), with: Array((UUID().uuidString.lowercased() + "\n").utf8))
    }
}

/// A simulated device refused or failed. The class picks the CLI's exit code: a user's mistake
/// (a directory that already holds a device) is not "a bug: please report it".
public struct SimulationError: ClassifiedError {
    public var description: String
    public var failureClass: FailureClass
    public init(_ description: String, class failureClass: FailureClass = .internalError) {
        self.description = description
        self.failureClass = failureClass
    }
}
