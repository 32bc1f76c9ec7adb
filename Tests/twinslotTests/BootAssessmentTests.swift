import Foundation
import Testing

/// The boot decision as systemd runs it on a device: `boot --early` before services, `boot`
/// after them, each tied to the boot (kernel boot id) it runs in.
@Suite struct BootAssessmentTests {
    func newBoot(_ sim: SimulatedDeviceFixture, booted: String) throws {
        try "\(booted)\n".write(toFile: sim.device + "/booted", atomically: true, encoding: .utf8)
        try UUID().uuidString.write(toFile: sim.device + "/boot-id", atomically: true, encoding: .utf8)
    }

    /// A `systemctl restart`, an operator, or a boot service that waited on the lock behind the
    /// install: in the boot that staged the trial there is nothing to decide yet.
    @Test func theBootServiceInTheInstallBootLeavesTheTrialAlone() throws {
        let sim = try SimulatedDeviceFixture("same-boot")
        #expect(try sim.twinslot("install", try sim.bundle("2.0", securityVersion: 2, seed: 2)).status == 0)
        for _ in 0..<2 {
            let boot = try sim.twinslot("boot", "--json")
            #expect(boot.status == 0, "\(boot.stderr)")
            #expect(boot.stdout.contains("awaiting-reboot"), "\(boot.stdout)")
            #expect(!boot.stdout.contains("fell-back") && !boot.stdout.contains("rolled-back"))
        }
        let status = try sim.status()
        #expect(status["next_boot"] as? String == "B")
        #expect(sim.group("B", in: status)["bootloader"] as? String == "trial")
        let reboot = try CLI.twinslot("sim", "reboot", sim.device)
        #expect(reboot.stdout.contains("committed"), "\(reboot.stdout)")
    }

    /// The early step recovers and returns at once: the health checks (here a self-test that
    /// fails) run only in the decision after services are up.
    @Test func theEarlyStepRunsNoHealthCheck() throws {
        let sim = try SimulatedDeviceFixture("early")
        let bad = try sim.bundle("2.0", securityVersion: 2, seed: 2, failingSelftest: true)
        #expect(try sim.twinslot("install", bad).status == 0)
        try newBoot(sim, booted: "B")
        let early = try sim.twinslot("boot", "--early", "--json")
        #expect(early.status == 0, "\(early.stderr)")
        #expect(!early.stdout.contains("rolled-back") && !early.stdout.contains("committed"), "\(early.stdout)")
        // The apps' current symlink already follows the booted group for the services to come.
        #expect(
            try FileManager.default.destinationOfSymbolicLink(atPath: sim.device + "/apps/current")
                == sim.device + "/apps/b")
        #expect(sim.group("B", in: try sim.status())["bootloader"] as? String == "trial")
        let decision = try sim.twinslot("boot")
        #expect(decision.stdout.contains("rolled-back"), "\(decision.stdout)")
        #expect(decision.stdout.contains("selftest failed"), "\(decision.stdout)")
    }

    /// With SIGCHLD ignored (inherited from a careless parent), waitpid answers ECHILD: a
    /// required check whose exit status cannot be read fails, it is never read as status 0.
    @Test func aCheckWhoseStatusCannotBeReadFailsClosed() throws {
        let sim = try SimulatedDeviceFixture("echild")
        #expect(try sim.twinslot("install", try sim.bundle("2.0", securityVersion: 2, seed: 2)).status == 0)
        let reboot = try CLI.run(
            "/bin/bash", ["-c", "trap '' CHLD; exec \"$0\" sim reboot \"$1\"", CLI.binary, sim.device])
        #expect(reboot.stdout.contains("rolled-back"), "\(reboot.stdout)")
        // The reboot command's status cannot be read either: reported, not taken as success.
        #expect(reboot.status != 0 && reboot.stderr.contains("the reboot command"), "\(reboot.stderr)")
        #expect(reboot.stdout.contains("waitpid"), "\(reboot.stdout)")
        #expect(try sim.status()["primary"] as? String == "A")
    }

    @Test func versionFlag() throws {
        let result = try CLI.twinslot("--version")
        #expect(result.status == 0)
        #expect(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: ".").count == 3)
    }
}
