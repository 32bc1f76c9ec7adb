import Foundation
import Testing

/// What `status`, `install --dry-run` and `install --wait-health` tell a person about the
/// device's state: the words must fit the state (issue 16, item 6).
@Suite struct DeviceStateWordingTests {
    @Test func statusSaysAStagedInstallWaitsForAReboot() throws {
        let sim = try SimulatedDeviceFixture("wording-staged")
        let v2 = try sim.bundle("2.0", securityVersion: 2, seed: 2)
        #expect(try sim.twinslot("install", v2).status == 0)
        let status = try sim.twinslot("status")
        #expect(status.status == 0, "\(status.stderr)")
        #expect(status.stdout.contains("staged: 2.0 is installed in group B, waiting for a reboot into its trial boot"))
        #expect(!status.stdout.contains("in progress"), "\(status.stdout)")
        #expect(!status.stdout.contains("phase flipped"))
    }

    @Test func aDryRunOfASwuSaysWhenAnImageSizeIsUnknown() throws {
        let sim = try SimulatedDeviceFixture("wording-swu")
        let v3 = try SwuRelease(sim, version: "3.0", seed: 3)
        try v3.builder.describe(v3.description(sim, securityVersion: 3))
        let swu = try v3.swu("v3.swu")
        let dry = try sim.twinslot("install", swu, "--dry-run")
        #expect(dry.status == 0, "\(dry.stderr)")
        let rootfs = try #require(dry.stdout.split(separator: "\n").first { $0.contains("rootfs (") })
        #expect(rootfs.hasSuffix("size unknown"), "\(rootfs)")
        #expect(!dry.stdout.contains(" 0 B"), "\(dry.stdout)")
    }

    /// Right after the trial group failed its checks (rolled back, the reboot not yet done),
    /// `mark-good` would commit what failed: the advice is the reboot.
    @Test func afterARollbackTheAdviceIsToRebootNotToMarkGood() throws {
        let sim = try SimulatedDeviceFixture("wording-rollback")
        let v3 = try sim.bundle("3.0", securityVersion: 3, seed: 3, selftestStatus: 1)
        #expect(try sim.twinslot("install", v3).status == 0)
        let bad = try CLI.twinslot("sim", "reboot", sim.device)
        #expect(bad.stdout.contains("rolled-back"), "\(bad.stdout)")

        let v4 = try sim.bundle("4.0", securityVersion: 4, seed: 4, selftestStatus: 0)
        for arguments in [["install", v4], ["install", v4, "--wait-health", "--wait-timeout", "1"]] {
            let again = try CLI.run(CLI.binary, arguments, environment: sim.environment)
            #expect(again.status == 18, "\(arguments): \(again.stderr)")
            #expect(again.stderr.contains("failed its health checks"), "\(again.stderr)")
            #expect(again.stderr.contains("reboot to return to group A"), "\(again.stderr)")
            #expect(!again.stderr.contains("mark-good"), "\(again.stderr)")
        }
    }
}
