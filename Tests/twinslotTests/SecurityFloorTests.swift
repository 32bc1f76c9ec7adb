import Foundation
import Testing

/// The anti-rollback floor is kept in the bootloader environment as well as the journal:
/// whoever can rewrite or roll back the data partition alone cannot lower it.
@Suite struct SecurityFloorTests {
    @Test func wipingTheDataPartitionDoesNotLowerTheFloor() throws {
        let sim = try SimulatedDeviceFixture("floor")
        #expect(try sim.twinslot("install", try sim.bundle("2.0", securityVersion: 2, seed: 2)).status == 0)
        #expect(try CLI.twinslot("sim", "reboot", sim.device).stdout.contains("committed"))
        let env = try CLI.run("/usr/bin/grub-editenv", [sim.device + "/grubenv", "list"]).stdout
        #expect(env.contains("TWINSLOT_FLOOR=2"), "\(env)")
        // The data partition is wiped (or replaced by an old copy): the journal knows nothing.
        for name in ["journal", "journal.snapshot", "journal.snapshot.2"] {
            try? FileManager.default.removeItem(atPath: sim.device + "/data/" + name)
        }
        #expect(try sim.status()["installed_security_version"] as? Int == 2)
        let old = try sim.twinslot("install", try sim.bundle("1.5", securityVersion: 1, seed: 3))
        #expect(old.status == 13, "\(old.stdout)\(old.stderr)")
        #expect(try sim.twinslot("install", try sim.bundle("3.0", securityVersion: 3, seed: 4)).status == 0)
    }
}
