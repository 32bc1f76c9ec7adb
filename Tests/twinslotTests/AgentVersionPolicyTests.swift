import Foundation
import TestSupport
import Testing

/// The device's version policy over the fleet: `.swu` files made by scripts/make-swu.sh, served by
/// goosebit (which offers any assigned version, downgrades too), refused on the device.
@Suite(.serialized) struct AgentVersionPolicyTests {
    let sim: SimulatedDeviceFixture
    let controller = "dev-" + UUID().uuidString.prefix(8).lowercased()

    /// make-swu.sh writes raw images only: the device keeps rootfs and firmware (no directory
    /// slot), and refuses older versions when `allowOlder` is false.
    init() throws {
        sim = try SimulatedDeviceFixture("agent-version")
        var config = try String(contentsOfFile: sim.config, encoding: .utf8)
        config = config.replacingOccurrences(
            of: #"\[slots\.apps\]\n(?:.*\n){4}\n"#, with: "", options: .regularExpression)
        config = config.replacingOccurrences(
            of: "allow-older-version = true", with: "allow-older-version = false")
        #expect(config.contains("allow-older-version = false"))
        try config.write(toFile: sim.config, atomically: true, encoding: .utf8)
    }

    func swu(_ version: String, securityVersion: Int?) throws -> String {
        var rootfs = [UInt8](repeating: 0, count: 200_000)
        for i in rootfs.indices { rootfs[i] = UInt8(truncatingIfNeeded: (i &* 131) ^ version.count &+ i / 512) }
        let image = sim.root + "/rootfs-\(version).img"
        let firmware = sim.root + "/firmware-\(version).img"
        FileManager.default.createFile(atPath: image, contents: Data(rootfs))
        FileManager.default.createFile(
            atPath: firmware, contents: Data(version.utf8 + [UInt8](repeating: 7, count: 5000)))
        let out = sim.root + "/release-\(version).swu"
        var arguments = [
            TestEnvironment.repositoryRoot + "/scripts/make-swu.sh", out, "--version", version, "--hardware",
            "twinslot-sim", "--image", "rootfs=" + image, "--image", "firmware=" + firmware, "--cert",
            sim.pki + "/signer.pem", "--key", sim.pki + "/signer.key", "--chain", sim.pki + "/signer-chain.pem",
        ]
        if let securityVersion { arguments += ["--security-version", "\(securityVersion)"] }
        let made = try TestEnvironment.run("/bin/bash", arguments)
        try #require(made.status == 0, "make-swu.sh: \(made.stderr)")
        return out
    }

    func agent(_ server: GoosebitServer) throws -> CLI.Result {
        try CLI.run(
            CLI.binary, ["agent", "--server", server.url, "--controller-id", controller, "--once", "--json"],
            environment: sim.environment)
    }

    @Test func makeSwuSetsTheSecurityVersion() throws {
        let info = try sim.twinslot("bundle", "info", try swu("3.0", securityVersion: 3))
        #expect(info.stdout.contains("security version: 3"), "\(info.stdout)")
        let none = try sim.twinslot("bundle", "info", try swu("3.1", securityVersion: nil))
        #expect(none.stdout.contains("security version: 0"), "\(none.stdout)")
        let bad = try TestEnvironment.run(
            "/bin/bash",
            [
                TestEnvironment.repositoryRoot + "/scripts/make-swu.sh", sim.root + "/x.swu", "--version", "1",
                "--security-version", "x", "--hardware", "h", "--image", "rootfs=/dev/null",
            ])
        #expect(bad.status == 2)
    }

    @Test func anOlderReleaseIsRefusedOverTheFleet() throws {
        let server = try GoosebitServer()
        defer { try? server.stop() }
        let current = try server.upload(path: try swu("3.0", securityVersion: 3))
        // Same security version: only the "no older version" rule can refuse it.
        let older = try server.upload(path: try swu("1.5", securityVersion: 3))

        #expect(try agent(server).status == 0)
        try server.assign(device: controller, software: current)
        #expect(try agent(server).stdout.contains("\"installed\""))
        #expect(try sim.twinslot("sim", "reboot", sim.device).status == 0)
        #expect(try agent(server).stdout.contains("\"success\":true"))
        #expect(try server.device(controller).swVersion == "3.0")

        try server.assign(device: controller, software: older)
        let before = sim.snapshot(active: "a", journal: false)
        let refused = try agent(server)
        #expect(refused.status == 13, "\(refused.stdout) \(refused.stderr)")
        #expect(sim.snapshot(active: "a", journal: false) == before, "nothing written to the inactive group")
        let log = try server.log(device: controller)
        #expect(log.contains("older than the running 3.0"), "\(log)")
        #expect(try server.device(controller).lastState.lowercased() == "error")

        // Below the floor (security version 1 < 3): refused whatever the version says.
        let floor = try sim.twinslot("install", "--dry-run", try swu("4.0", securityVersion: 1))
        #expect(floor.status == 13, "\(floor.stderr)")
        #expect(floor.stderr.contains("below the installed 3"), "\(floor.stderr)")
        #expect(try sim.status()["primary"] as? String == "B")
    }
}
