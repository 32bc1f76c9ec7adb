import Foundation
import Testing

/// A simulated device driven through the built binary, as an operator or a script would.
struct SimulatedDeviceFixture {
    let root: String
    let pki: String
    let device: String
    var config: String { device + "/system.toml" }
    var environment: [String: String] { ["TWINSLOT_CONFIG": config] }

    init(_ label: String) throws {
        root = CLI.temporaryDirectory(label)
        pki = try CLI.pki(in: root)
        device = root + "/dev"
        let created = try CLI.twinslot("sim", "init", device, "--keyring", pki + "/keyring.pem")
        guard created.status == 0 else { throw CLIError("sim init failed: \(created.stderr)") }
    }

    /// Makes a signed bundle whose images are derived from `seed`; `classes` defaults to all;
    /// `extraImages` adds images for slot classes a test added to the device (class: path).
    func bundle(
        _ version: String, securityVersion: Int, seed: UInt8, compatible: String = "twinslot-sim",
        classes: [String] = ["rootfs", "firmware", "apps"], incompressible: Bool = false,
        failingSelftest: Bool = false, appsImage: String? = nil, extraImages: [String: String] = [:]
    ) throws -> String {
        let dir = root + "/content-\(version)"
        try FileManager.default.createDirectory(atPath: dir + "/apps/bin", withIntermediateDirectories: true)
        var rootfs = [UInt8](repeating: 0, count: 3 << 20 + 777)
        for i in rootfs.indices { rootfs[i] = UInt8(truncatingIfNeeded: (i &* 31) ^ Int(seed) &+ i / 4096) }
        if failingSelftest {
            FileManager.default.createFile(
                atPath: dir + "/apps/bin/selftest", contents: Data("#!/bin/sh\necho selftest failed\nexit 1\n".utf8),
                attributes: [.posixPermissions: 0o755])
        }
        if incompressible {
            // xorshift: bytes zstd cannot shrink, so the bundle is as large as the image.
            var state = UInt64(seed) &+ 0x9E37_79B9_7F4A_7C15
            for i in rootfs.indices {
                state ^= state << 13
                state ^= state >> 7
                state ^= state << 17
                rootfs[i] = UInt8(truncatingIfNeeded: state)
            }
        }
        FileManager.default.createFile(atPath: dir + "/rootfs.img", contents: Data(rootfs))
        FileManager.default.createFile(atPath: dir + "/firmware.img", contents: Data(repeating: seed, count: 40_000))
        FileManager.default.createFile(atPath: dir + "/apps/VERSION", contents: Data("\(version)\n".utf8))
        FileManager.default.createFile(
            atPath: dir + "/apps/bin/run", contents: Data("#!/bin/sh\necho \(version)\n".utf8))
        let paths = [
            "rootfs": dir + "/rootfs.img", "firmware": dir + "/firmware.img", "apps": appsImage ?? dir + "/apps",
        ]
        let out = root + "/bundle-\(version).tsb"
        var arguments = [
            "bundle", "create", "--out", out, "--compatible", compatible, "--version", version, "--security-version",
            "\(securityVersion)", "--cert", pki + "/signer.pem", "--key", pki + "/signer.key", "--chain",
            pki + "/signer-chain.pem",
        ]
        for name in classes { arguments += ["--image", "\(name)=\(paths[name]!)"] }
        for (name, path) in extraImages.sorted(by: { $0.key < $1.key }) { arguments += ["--image", "\(name)=\(path)"] }
        let result = try CLI.run(CLI.binary, arguments)
        guard result.status == 0 else { throw CLIError("bundle create failed: \(result.stderr)") }
        return out
    }

    func twinslot(_ arguments: String...) throws -> CLI.Result {
        try CLI.run(CLI.binary, arguments, environment: environment)
    }

    func status() throws -> [String: Any] {
        let result = try twinslot("status", "--json")
        guard result.status == 0 else { throw CLIError("status failed: \(result.stderr)") }
        return try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as! [String: Any]
    }

    func group(_ letter: String, in status: [String: Any]) -> [String: Any] {
        (status["groups"] as! [[String: Any]]).first { $0["group"] as? String == letter }!
    }

    func bytes(_ relative: String) -> Data? { FileManager.default.contents(atPath: device + "/" + relative) }

    /// Everything that must not change when an operation is refused: the active group's slots,
    /// the bootloader environment and the journal.
    func snapshot(active: String = "a", journal: Bool = true) -> [String: Data?] {
        var files = [String: Data?]()
        var names = ["slots/rootfs-\(active).img", "slots/firmware-\(active).img", "apps/\(active)/VERSION"]
        if journal { names += ["grubenv", "data/journal"] }
        for name in names { files[name] = bytes(name) }
        files["apps/current"] = (try? FileManager.default.destinationOfSymbolicLink(atPath: device + "/apps/current"))
            .map { Data($0.utf8) }
        return files
    }
}

@Suite struct DeviceCycleTests {
    @Test func installRebootTrialCommit() throws {
        let sim = try SimulatedDeviceFixture("commit")
        let v2 = try sim.bundle("2.0", securityVersion: 2, seed: 2)
        let dry = try sim.twinslot("install", v2, "--dry-run")
        #expect(dry.status == 0)
        #expect(dry.stdout.contains("rootfs-b.img"))
        #expect(sim.bytes("slots/rootfs-b.img") == Data())

        let installed = try sim.twinslot("install", v2, "--json")
        #expect(installed.status == 0, "\(installed.stderr)")
        var status = try sim.status()
        #expect(status["next_boot"] as? String == "B")
        #expect(status["primary"] as? String == "A")
        #expect(sim.group("B", in: status)["bootloader"] as? String == "trial")

        let reboot = try CLI.twinslot("sim", "reboot", sim.device)
        #expect(reboot.status == 0)
        #expect(reboot.stdout.contains("committed"))
        status = try sim.status()
        #expect(status["booted"] as? String == "B")
        #expect(status["primary"] as? String == "B")
        #expect(status["installed_security_version"] as? Int == 2)
        let groupB = sim.group("B", in: status)
        #expect(groupB["version"] as? String == "2.0")
        #expect((groupB["slots"] as! [[String: Any]]).allSatisfy { $0["status"] as? String == "good" })
        // The apps directory slot flipped with the boot slots.
        #expect(
            try FileManager.default.destinationOfSymbolicLink(atPath: sim.device + "/apps/current") == sim.device
                + "/apps/b")
        #expect(sim.bytes("apps/current/VERSION") == Data("2.0\n".utf8))
        #expect(sim.bytes("slots/firmware-b.img") == Data(repeating: 2, count: 40_000))

        // The same bundle again is a no-op that says so.
        let again = try sim.twinslot("install", v2)
        #expect(again.status == 0)
        #expect(again.stdout.contains("already installed"))
    }

    @Test func failedTrialBootFallsBack() throws {
        let sim = try SimulatedDeviceFixture("fallback")
        let v2 = try sim.bundle("2.0", securityVersion: 2, seed: 2)
        #expect(try sim.twinslot("install", v2).status == 0)
        let reboot = try CLI.twinslot("sim", "reboot", sim.device, "--fail-boot")
        #expect(reboot.status == 0)
        #expect(reboot.stdout.contains("fell-back"))
        let status = try sim.status()
        #expect(status["booted"] as? String == "A")
        #expect(status["primary"] as? String == "A")
        #expect((status["last"] as! [String: Any])["outcome"] as? String == "rolled-back")
        #expect(sim.group("B", in: status)["bootloader"] as? String == "bad")
        #expect(
            try FileManager.default.destinationOfSymbolicLink(atPath: sim.device + "/apps/current") == sim.device
                + "/apps/a")
        // The device keeps booting A, and can install again.
        #expect(try CLI.twinslot("sim", "reboot", sim.device).status == 0)
        #expect(try sim.status()["booted"] as? String == "A")
        #expect(try sim.twinslot("install", v2).status == 0)
    }

    @Test func markBadReturnsToTheOldGroup() throws {
        let sim = try SimulatedDeviceFixture("markbad")
        let v2 = try sim.bundle("2.0", securityVersion: 2, seed: 2)
        #expect(try sim.twinslot("install", v2).status == 0)
        #expect(try CLI.twinslot("sim", "reboot", sim.device).status == 0)
        #expect(try sim.status()["booted"] as? String == "B")

        let bad = try sim.twinslot("mark-bad")
        #expect(bad.status == 0, "\(bad.stderr)")
        #expect(bad.stdout.contains("reboot to return to group A"))
        #expect(try CLI.twinslot("sim", "reboot", sim.device).status == 0)
        let status = try sim.status()
        #expect(status["booted"] as? String == "A")
        #expect(status["primary"] as? String == "A")
        #expect(sim.group("B", in: status)["bootloader"] as? String == "bad")

        // Marking the only good group bad is refused.
        let refused = try sim.twinslot("mark-bad", "booted")
        #expect(refused.status == 18)
        #expect(refused.stderr.contains("no committed bundle to fall back to"))
    }

    @Test func refusalsLeaveTheDeviceUntouched() throws {
        let sim = try SimulatedDeviceFixture("refuse")
        let v3 = try sim.bundle("3.0", securityVersion: 3, seed: 3)
        #expect(try sim.twinslot("install", v3).status == 0)
        #expect(try CLI.twinslot("sim", "reboot", sim.device).status == 0)
        #expect(try sim.status()["primary"] as? String == "B")
        let before = sim.snapshot(active: "b")

        // Anti-rollback: security version 2 after 3.
        let old = try sim.bundle("2.0", securityVersion: 2, seed: 2)
        let downgrade = try sim.twinslot("install", old)
        #expect(downgrade.status == 13)
        #expect(downgrade.stderr.contains("security version 2, below the installed 3"))

        // Another device's bundle.
        let foreign = try sim.bundle("4.0", securityVersion: 4, seed: 4, compatible: "other-board")
        let incompatible = try sim.twinslot("install", foreign)
        #expect(incompatible.status == 12)
        #expect(incompatible.stderr.contains("'other-board'"))

        // (A partial bundle is no refusal: it installs, copying the other classes from the
        // running group; PartialBundleTests.)

        // Refused before a byte was written: not even the journal changed.
        #expect(sim.snapshot(active: "b") == before)

        // A corrupt payload is found while streaming into the inactive group A: the failure is
        // journaled and group A left unbootable, the running group B untouched.
        let activeBefore = sim.snapshot(active: "b", journal: false)
        var corrupt = [UInt8](FileManager.default.contents(atPath: try sim.bundle("4.2", securityVersion: 4, seed: 6))!)
        corrupt[corrupt.count / 2] ^= 0x55
        FileManager.default.createFile(atPath: sim.root + "/corrupt.tsb", contents: Data(corrupt))
        let bad = try sim.twinslot("install", sim.root + "/corrupt.tsb")
        #expect(bad.status == 10)

        #expect(sim.snapshot(active: "b", journal: false) == activeBefore)
        let status = try sim.status()
        #expect(status["primary"] as? String == "B")
        #expect(status["next_boot"] as? String == "B")
        #expect(status["installed_security_version"] as? Int == 3)
        #expect((status["last"] as! [String: Any])["outcome"] as? String == "failed")
        #expect(sim.group("A", in: status)["bootloader"] as? String == "bad")
        #expect(sim.group("B", in: status)["version"] as? String == "3.0")
    }

    @Test func badConfigAndMissingSlotDevice() throws {
        let sim = try SimulatedDeviceFixture("config")
        let v2 = try sim.bundle("2.0", securityVersion: 2, seed: 2)
        let before = sim.snapshot()

        // A configuration error names the file, the line and the key.
        let brokenConfig = sim.root + "/broken.toml"
        var text = try String(contentsOfFile: sim.config, encoding: .utf8)
        text = text.replacingOccurrences(of: "type = \"raw\"", with: "type = \"ext4\"")
        try text.write(toFile: brokenConfig, atomically: true, encoding: .utf8)
        let config = try CLI.twinslot("install", v2, "--config", brokenConfig)
        #expect(config.status == 17)
        #expect(config.stderr.contains("line"))
        #expect(config.stderr.contains("ext4"))

        // A slot whose device does not exist: refused before anything is written.
        let missingConfig = sim.root + "/missing.toml"
        text = try String(contentsOfFile: sim.config, encoding: .utf8)
        text = text.replacingOccurrences(of: sim.device + "/slots/rootfs-b.img", with: "/nonexistent/rootfs-b.img")
        try text.write(toFile: missingConfig, atomically: true, encoding: .utf8)
        let missing = try CLI.twinslot("install", v2, "--config", missingConfig)
        #expect(missing.status == 14)
        #expect(missing.stderr.contains("/nonexistent/rootfs-b.img"))

        #expect(sim.snapshot() == before)
        #expect(sim.bytes("slots/rootfs-b.img") == Data())
    }

    @Test func aSecondConcurrentInstallIsBusy() throws {
        let sim = try SimulatedDeviceFixture("busy")
        let v2 = try sim.bundle("2.0", securityVersion: 2, seed: 2)
        // Hold the lock the way a running install does.
        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: "/usr/bin/flock")
        holder.arguments = [sim.device + "/data/lock", "-c", "echo locked; sleep 10"]
        let pipe = Pipe()
        holder.standardOutput = pipe
        try holder.run()
        defer { holder.terminate() }
        _ = pipe.fileHandleForReading.availableData  // wait until the lock is held
        let start = Date()
        let busy = try sim.twinslot("install", v2)
        #expect(busy.status == 15)
        #expect(busy.stderr.contains("another twinslot operation is running"))
        #expect(Date().timeIntervalSince(start) < 5, "busy must be answered at once, not after waiting")
    }
}
