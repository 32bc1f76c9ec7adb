import SystemPackage

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// A device as twinslot sees it: its configuration, the storage every durable write goes
/// through, and its bootloader backend. Tests and the simulated device swap the storage.
public struct Device: Sendable {
    public let config: SystemConfig
    public let storage: any Storage
    public let boot: any BootBackend

    public init(config: SystemConfig, storage: any Storage = PosixStorage()) throws {
        self.config = config
        self.storage = storage
        switch config.bootloader.backend {
        case .grub(let grubenv):
            boot = GrubBackend(path: FilePath(grubenv), storage: storage)
        case .sim(let grubenv):
            boot = SimBackend(path: FilePath(grubenv), storage: storage)
        case .uboot(let environments, let attempts):
            let copies = environments.map {
                UBootEnvironmentCopy(path: FilePath($0.path), offset: $0.offset, size: Int($0.size))
            }
            boot = try UBootBackend(
                config: try UBootEnvironmentConfig(copies: copies), storage: storage, attempts: attempts)
        case .script(let command):
            boot = try ScriptBackend(command: ["/bin/sh", "-c", command + " \"$@\"", "twinslot-bootloader"])
        }
    }

    public var dataDirectory: FilePath { FilePath(config.dataDirectory) }

    /// What the device accepts: its compatible string and the content each slot class takes.
    public var profile: DeviceProfile {
        DeviceProfile(
            compatible: config.compatible,
            slotContent: Dictionary(
                uniqueKeysWithValues: config.slotClasses.map { ($0.name, $0.type == .raw ? .raw : .tar) }))
    }

    /// The slot group the running system booted from: `twinslot.slot=X` on the kernel command
    /// line, or the content of a file (the simulated device's record), as configured.
    public func bootedGroup() throws -> SlotLetter {
        let path: String
        var fromCommandLine = false
        switch config.bootloader.bootedSlot {
        case .cmdline(let cmdline):
            path = cmdline
            fromCommandLine = true
        case .file(let file):
            path = file
        }
        guard let bytes = try storage.readFile(FilePath(path)) else {
            throw InstallError.unknownBootedGroup(detail: "\(path) does not exist")
        }
        let text = String(decoding: bytes, as: UTF8.self)
        if fromCommandLine {
            for word in text.split(whereSeparator: \.isWhitespace) where word.hasPrefix("twinslot.slot=") {
                if let letter = SlotLetter(name: String(word.dropFirst("twinslot.slot=".count))) { return letter }
            }
            throw InstallError.unknownBootedGroup(detail: "no twinslot.slot=A|B on the kernel command line (\(path))")
        }
        let trimmed = text.trimmingWhitespace()
        guard let letter = SlotLetter(name: trimmed) else {
            throw InstallError.unknownBootedGroup(detail: "\(path) holds '\(trimmed)', not A or B")
        }
        return letter
    }

    /// The id of the running boot, or nil when the file is missing or empty (then every boot
    /// looks new, as before boot ids were recorded).
    public func bootID() -> String? {
        guard let bytes = try? storage.readFile(FilePath(config.bootloader.bootIDPath)) else { return nil }
        let text = String(decoding: bytes, as: UTF8.self).trimmingWhitespace()
        return text.isEmpty ? nil : text
    }

    /// The anti-rollback floor: the highest of the journal's and the bootloader's copies, so
    /// that deleting or rolling back the data partition does not lower it.
    public func securityFloor(_ state: DeviceState) -> UInt64 {
        max(state.installedSecurityVersion, (try? boot.securityFloor()) ?? 0)
    }

    /// Brings the bootloader's copy of the floor up to the journal's (after a COMMITTED, or on a
    /// boot after a power cut came between the two).
    public func mirrorSecurityFloor(_ state: DeviceState) throws {
        if state.installedSecurityVersion > 0 { try boot.raiseSecurityFloor(to: state.installedSecurityVersion) }
    }
}
