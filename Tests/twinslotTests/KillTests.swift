import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The real binary, killed with SIGKILL while it installs or boots, on a simulated device on the
/// real file system; after each kill a reboot must give a device that keeps design.md's
/// invariants. (What a kill cannot lose, the page cache keeps: this complements the in-memory
/// crash harness, which models lost and torn writes.)
@Suite(.serialized) struct KillTests {
    struct Images {
        var rootfs: [String: String]  // sha256 -> version
    }

    static func sha256(_ path: String) throws -> String {
        let result = try CLI.run("/usr/bin/openssl", ["dgst", "-sha256", "-r", path])
        return String(result.stdout.prefix(64))
    }

    /// Starts the binary; returns its pid.
    static func start(_ arguments: [String], environment: [String: String]) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: CLI.binary)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }

    static func isStopped(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return false }
        return stat[stat.index(close, offsetBy: 2)] == "T"
    }

    /// Checks the invariants after a kill and a reboot; returns a problem or nil.
    static func check(_ sim: SimulatedDeviceFixture, known: [String: String], bundle: String) throws -> String? {
        let reboot = try CLI.twinslot("sim", "reboot", sim.device)
        guard reboot.status == 0 else { return "sim reboot failed: \(reboot.stderr)" }
        let status = try sim.status()
        let booted = status["booted"] as? String
        guard let booted, status["primary"] as? String == booted, status["next_boot"] as? String == booted else {
            return
                "booted \(String(describing: booted)), primary \(String(describing: status["primary"])), next \(String(describing: status["next_boot"]))"
        }
        guard status["operation"] == nil || status["operation"] is NSNull else { return "an operation is stuck" }
        let letter = booted.lowercased()
        let rootfs = try sha256(sim.device + "/slots/rootfs-\(letter).img")
        let firmware = try sha256(sim.device + "/slots/firmware-\(letter).img")
        guard let version = known[rootfs], known[firmware] == version else {
            return
                "group \(booted) holds no complete bundle (rootfs \(rootfs.prefix(12)), firmware \(firmware.prefix(12)))"
        }
        let apps = String(decoding: sim.bytes("apps/\(letter)/VERSION") ?? Data(), as: UTF8.self)
        guard apps.hasPrefix(version) else { return "apps of group \(booted) say \(apps), rootfs is \(version)" }
        // Installing again succeeds.
        let again = try sim.twinslot("install", bundle)
        guard again.status == 0 else { return "installing again failed: \(again.stderr)" }
        return nil
    }

    static func prepare(_ label: String) throws -> (SimulatedDeviceFixture, String, [String: String]) {
        let sim = try SimulatedDeviceFixture(label)
        let bundle = try sim.bundle("2.0", securityVersion: 2, seed: 2)
        var known: [String: String] = [:]
        known[try sha256(sim.device + "/slots/rootfs-a.img")] = "factory"
        known[try sha256(sim.device + "/slots/firmware-a.img")] = "factory"
        known[try sha256(sim.root + "/content-2.0/rootfs.img")] = "2.0"
        known[try sha256(sim.root + "/content-2.0/firmware.img")] = "2.0"
        return (sim, bundle, known)
    }

    @Test func killedAtEveryJournalPhaseBoundary() throws {
        var kills = 0
        var violations: [String] = []
        for (command, kind) in [
            ("install", "BEGIN"), ("install", "TARGET-DISABLED"), ("install", "STAGED"), ("install", "FLIPPED"),
            ("reboot", "BOOTED-TRIAL"), ("reboot", "COMMITTED"),
        ] {
            let (sim, bundle, known) = try Self.prepare("phase-\(kind.lowercased())")
            if command == "reboot" { #expect(try sim.twinslot("install", bundle).status == 0) }
            let arguments = command == "install" ? ["install", bundle] : ["sim", "reboot", sim.device]
            let process = try Self.start(
                arguments, environment: sim.environment.merging(["TWINSLOT_TEST_STOP_AFTER": kind]) { $1 })
            let deadline = Date().addingTimeInterval(30)
            while !Self.isStopped(process.processIdentifier) && process.isRunning && Date() < deadline {
                usleep(2000)
            }
            #expect(Self.isStopped(process.processIdentifier), "\(kind): the binary never stopped there")
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            kills += 1
            if let problem = try Self.check(sim, known: known, bundle: bundle) {
                violations.append("\(kind): \(problem)")
            }
        }
        for violation in violations { Issue.record("\(violation)") }
        print("kills: \(kills), violations: \(violations.count) (phase boundaries)")
    }

    @Test func killedAtInstantsSpreadOverTheRun() throws {
        let (probe, probeBundle, _) = try Self.prepare("timing")
        let start = Date()
        #expect(try probe.twinslot("install", probeBundle).status == 0)
        let duration = Date().timeIntervalSince(start)
        let instants = Int(ProcessInfo.processInfo.environment["TWINSLOT_KILL_INSTANTS"] ?? "") ?? 12
        var kills = 0
        var violations: [String] = []
        for index in 0..<instants {
            let delay = duration * Double(index) / Double(instants)
            let (sim, bundle, known) = try Self.prepare("kill-\(index)")
            let process = try Self.start(["install", bundle], environment: sim.environment)
            usleep(useconds_t(delay * 1_000_000))
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            kills += 1
            if let problem = try Self.check(sim, known: known, bundle: bundle) {
                violations.append(String(format: "killed after %.0f ms: %@", delay * 1000, problem))
            }
        }
        for violation in violations { Issue.record("\(violation)") }
        print("kills: \(kills), violations: \(violations.count) (spread over \(Int(duration * 1000)) ms)")
    }
}
