import Foundation
import SystemPackage
import Testing

@testable import TwinslotCore

/// The boot service on a real bootloader environment, boot after boot: what a board's
/// bootloader does at power-on (the selection functions that mirror dist/grub/grub.cfg and
/// dist/u-boot's script), then `twinslot boot`, in a new boot id each time.
@Suite struct BootDecisionTests {
    let storage = PosixStorage()

    func device(_ dir: TempDir, backend: BootloaderConfig.Backend) throws -> Device {
        try dir.write("slot-a", [UInt8](repeating: 1, count: 4096))
        try dir.write("slot-b", [UInt8](repeating: 2, count: 4096))
        try dir.write("booted", "A\n")
        try FileManager.default.createDirectory(atPath: dir.path("data"), withIntermediateDirectories: true)
        let config = SystemConfig(
            compatible: "decision-test", dataDirectory: dir.path("data"), keyring: dir.path("keyring.pem"),
            bootloader: BootloaderConfig(
                backend: backend, bootedSlot: .file(path: dir.path("booted")), rebootCommand: ["/bin/true"],
                bootIDPath: dir.path("boot-id")),
            slotClasses: [SlotClassConfig(name: "rootfs", type: .raw, a: dir.path("slot-a"), b: dir.path("slot-b"))])
        return try Device(config: config, storage: storage)
    }

    func newBoot(_ dir: TempDir, booted: SlotLetter) throws {
        try dir.write("booted", booted.rawValue + "\n")
        try dir.write("boot-id", UUID().uuidString + "\n")
    }

    /// U-Boot's script decrements BOOT_X_LEFT at every start; a confirmed boot must give the
    /// committed group its attempts back, or after `attempts` good boots it stops being chosen.
    @Test func uBootConfirmedBootsReArmTheCommittedGroup() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        try dir.write("env", [UInt8](repeating: 0, count: 0x4000))
        let location = UBootEnvironmentLocation(path: dir.path("env"), offset: 0, size: 0x4000)
        let device = try device(dir, backend: .uboot(environments: [location], attempts: 3))
        let backend = try #require(device.boot as? UBootBackend)
        try backend.provision(primary: .a, defaults: ["bootcmd": "run twinslot"])
        for boot in 1...4 {
            let (booted, env) = UBootBootSelection.select(try backend.store.read())
            #expect(booted == .a, "boot \(boot)")
            try backend.store.write(env)
            try newBoot(dir, booted: .a)
            let outcome = try BootService(device: device).run()
            #expect(outcome.actions.last == .confirmed || outcome.actions.last == .adopted)
            #expect(try backend.store.read()["BOOT_A_LEFT"] == "3", "boot \(boot)")
        }
    }

    /// grub.cfg's defaults: a missing or damaged grubenv still boots A, then B, never the rescue
    /// entry; the boot service then writes the environment its journal describes.
    @Test func aLostGrubenvBootsOnDefaultsAndIsRewritten() throws {
        #expect(GrubBootSelection.selectWithoutEnvironment() == .a)
        var partial = GrubEnvironment()
        partial["ORDER"] = "B A"
        #expect(GrubBootSelection.select(partial).booted == .b)

        let dir = try TempDir()
        defer { dir.remove() }
        let device = try device(dir, backend: .grub(grubenv: dir.path("grubenv")))
        try GrubBackend.provision(path: dir.filePath("grubenv"), primary: .b, storage: storage)
        try newBoot(dir, booted: .b)
        #expect(try BootService(device: device).run().actions == [.adopted])

        // The ESP's grubenv is lost: GRUB starts A on its defaults.
        try FileManager.default.removeItem(atPath: dir.path("grubenv"))
        try newBoot(dir, booted: .a)
        let outcome = try BootService(device: device, early: true).run()
        #expect(outcome.actions == [.repairedBootloader])
        #expect(outcome.rebootRequested)
        let state = try device.boot.read()
        #expect(state.primary == .b && state.slots[.a] == .bad)

        // Damaged (not a grubenv block at all): the same.
        try dir.write("grubenv", [UInt8](repeating: 0x41, count: 1024))
        try newBoot(dir, booted: .b)
        let again = try BootService(device: device).run()
        #expect(again.actions == [.repairedBootloader])
        #expect(!again.rebootRequested)
        #expect(try device.boot.read().primary == .b)
    }
}
