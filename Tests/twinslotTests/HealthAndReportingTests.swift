import Foundation
import Testing

extension SimulatedDeviceFixture {
    /// A bundle whose apps ship `bin/selftest` exiting with `selftestStatus`.
    func bundle(_ version: String, securityVersion: Int, seed: UInt8, selftestStatus: Int32) throws -> String {
        let dir = root + "/content-\(version)"
        try FileManager.default.createDirectory(atPath: dir + "/apps/bin", withIntermediateDirectories: true)
        FileManager.default.createFile(
            atPath: dir + "/apps/bin/selftest",
            contents: Data("#!/bin/sh\necho selftest \(version)\nexit \(selftestStatus)\n".utf8),
            attributes: [.posixPermissions: 0o755])
        return try bundle(version, securityVersion: securityVersion, seed: seed)
    }

    func appendConfig(_ text: String) throws {
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: config))
        handle.seekToEndOfFile()
        handle.write(Data(("\n" + text + "\n").utf8))
        try handle.close()
    }

    func reports() throws -> [[String: Any]] {
        let directory = device + "/data/reports"
        return try FileManager.default.contentsOfDirectory(atPath: directory).sorted().map {
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: directory + "/" + $0)))
                as! [String: Any]
        }
    }

    func reboots() -> Int {
        (try? String(contentsOfFile: device + "/reboot-requests", encoding: .utf8))?.split(separator: "\n").count ?? 0
    }
}

@Suite struct HealthAndReportingTests {
    @Test func aFailingRequiredCheckRollsBackThroughTheRebootCommand() throws {
        let sim = try SimulatedDeviceFixture("health-fail")
        let v2 = try sim.bundle("2.0", securityVersion: 2, seed: 2, selftestStatus: 0)
        #expect(try sim.twinslot("install", v2).status == 0)
        let good = try CLI.twinslot("sim", "reboot", sim.device)
        #expect(good.stdout.contains("committed"))
        #expect(sim.reboots() == 0)

        let v3 = try sim.bundle("3.0", securityVersion: 3, seed: 3, selftestStatus: 1)
        #expect(try sim.twinslot("install", v3).status == 0)
        let bad = try CLI.twinslot("sim", "reboot", sim.device)
        #expect(bad.status == 0)
        #expect(bad.stdout.contains("rolled-back"))
        #expect(bad.stdout.contains("required check 'apps-selftest' failed"))
        #expect(sim.reboots() == 1, "the configured reboot command ran")
        #expect(try CLI.twinslot("sim", "reboot", sim.device).stdout.contains("confirmed"))
        let status = try sim.status()
        #expect(status["booted"] as? String == "B")
        #expect(sim.group("B", in: status)["version"] as? String == "2.0")
        let last = status["last_report"] as! [String: Any]
        #expect(last["kind"] as? String == "boot")

        let boots = try sim.reports().filter {
            $0["kind"] as? String == "boot" && $0["outcome"] as? String == "rolled-back"
        }
        let health = try #require(boots.first?["health"] as? [[String: Any]])
        #expect(health.first?["name"] as? String == "apps-selftest")
        #expect(health.first?["passed"] as? Bool == false)
        #expect((health.first?["detail"] as? String)?.contains("selftest 3.0") == true)
    }

    @Test func anOptionalFailingCheckIsReportedAndTheGroupCommits() throws {
        let sim = try SimulatedDeviceFixture("health-optional")
        try sim.appendConfig(
            """
            [[health.check]]
            name = "optional-probe"
            kind = "file"
            target = "/nonexistent/marker"
            required = false
            retries = 1
            retry-delay = "10ms"
            """)
        let v2 = try sim.bundle("2.0", securityVersion: 2, seed: 2)
        #expect(try sim.twinslot("install", v2).status == 0)
        let reboot = try CLI.twinslot("sim", "reboot", sim.device, "--json")
        let outcome = try JSONSerialization.jsonObject(with: Data(reboot.stdout.utf8)) as! [String: Any]
        #expect((outcome["actions"] as? [String])?.contains("committed") == true)
        let health = outcome["health"] as! [[String: Any]]
        let probe = try #require(health.first { $0["name"] as? String == "optional-probe" })
        #expect(probe["passed"] as? Bool == false)
        #expect(probe["required"] as? Bool == false)
        #expect(probe["attempts"] as? Int == 2)
    }

    @Test func aHungCheckIsKilledAtItsTimeout() throws {
        let sim = try SimulatedDeviceFixture("health-hung")
        try sim.appendConfig(
            """
            [[health.check]]
            name = "hangs"
            kind = "command"
            command = ["/bin/sh", "-c", "sleep 60 & sleep 60"]
            timeout = "1s"
            """)
        let v2 = try sim.bundle("2.0", securityVersion: 2, seed: 2)
        #expect(try sim.twinslot("install", v2).status == 0)
        let start = Date()
        let reboot = try CLI.twinslot("sim", "reboot", sim.device)
        #expect(Date().timeIntervalSince(start) < 10)
        #expect(reboot.stdout.contains("rolled-back"))
        #expect(reboot.stdout.contains("timed out"))
    }

    @Test func theHealthDeadlineRollsBackATrialTooLate() throws {
        let sim = try SimulatedDeviceFixture("health-deadline")
        var text = try String(contentsOfFile: sim.config, encoding: .utf8)
        text = text.replacingOccurrences(of: "deadline-boots = 3", with: "deadline-boots = 3\ndeadline = \"1s\"")
        try text.write(toFile: sim.config, atomically: true, encoding: .utf8)
        let v2 = try sim.bundle("2.0", securityVersion: 2, seed: 2)
        #expect(try sim.twinslot("install", v2).status == 0)
        usleep(1_300_000)
        let reboot = try CLI.twinslot("sim", "reboot", sim.device)
        #expect(reboot.stdout.contains("rolled-back"))
        #expect(reboot.stdout.contains("health deadline"))
    }

    /// A trial that keeps coming up without its boot service finishing (killed right after
    /// BOOTED-TRIAL) is rolled back once it has come up more than `deadline-boots` times.
    @Test func theBootCountDeadline() throws {
        let sim = try SimulatedDeviceFixture("health-boots")
        var text = try String(contentsOfFile: sim.config, encoding: .utf8)
        text = text.replacingOccurrences(of: "deadline-boots = 3", with: "deadline-boots = 1")
        try text.write(toFile: sim.config, atomically: true, encoding: .utf8)
        #expect(try sim.twinslot("install", try sim.bundle("2.0", securityVersion: 2, seed: 2)).status == 0)
        // The bootloader starts B (a new boot, a new boot id); the boot service dies right
        // after recording the trial boot.
        try "B\n".write(toFile: sim.device + "/booted", atomically: true, encoding: .utf8)
        try UUID().uuidString.write(toFile: sim.device + "/boot-id", atomically: true, encoding: .utf8)
        let process = try KillTests.start(
            ["boot"], environment: sim.environment.merging(["TWINSLOT_TEST_STOP_AFTER": "BOOTED-TRIAL"]) { $1 })
        while !KillTests.isStopped(process.processIdentifier) && process.isRunning { usleep(2000) }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        // B comes up again (as U-Boot's attempts allow): one boot too many.
        try UUID().uuidString.write(toFile: sim.device + "/boot-id", atomically: true, encoding: .utf8)
        let again = try sim.twinslot("boot")
        #expect(again.stdout.contains("rolled-back"), "\(again.stdout)\(again.stderr)")
        #expect(again.stdout.contains("within 1 boot(s)"))
    }

    @Test func everyHookPointRunsWithItsEnvironment() throws {
        let sim = try SimulatedDeviceFixture("hooks")
        let log = sim.root + "/hooks.log"
        FileManager.default.createFile(
            atPath: sim.device + "/hooks.d/10-log",
            contents: Data(
                "#!/bin/sh\necho \"$1|$TWINSLOT_HOOK|${TWINSLOT_VERSION:-}|${TWINSLOT_TARGET_GROUP:-}|${TWINSLOT_BOOTED_GROUP:-}|${TWINSLOT_OUTCOME:-}\" >> '\(log)'\n"
                    .utf8), attributes: [.posixPermissions: 0o755])
        let v2 = try sim.bundle("2.0", securityVersion: 2, seed: 2, selftestStatus: 0)
        #expect(try sim.twinslot("install", v2).status == 0)
        #expect(try CLI.twinslot("sim", "reboot", sim.device).status == 0)
        let v3 = try sim.bundle("3.0", securityVersion: 3, seed: 3, selftestStatus: 1)
        #expect(try sim.twinslot("install", v3).status == 0)
        #expect(try CLI.twinslot("sim", "reboot", sim.device).status == 0)
        let lines = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n").map(String.init)
        #expect(
            lines == [
                "pre-install|pre-install|2.0|B|A|", "post-install|post-install|2.0|B|A|",
                "committed|committed|2.0|B|B|committed",
                "pre-install|pre-install|3.0|A|B|", "post-install|post-install|3.0|A|B|",
                "rolled-back|rolled-back|3.0|A|A|rolled-back", "pre-reboot|pre-reboot|||A|",
            ])

        // The rollback asked for a reboot: back on B.
        #expect(try CLI.twinslot("sim", "reboot", sim.device).status == 0)
        // A failing pre-install hook refuses the install before anything is written.
        FileManager.default.createFile(
            atPath: sim.device + "/hooks.d/20-refuse", contents: Data("#!/bin/sh\nexit 3\n".utf8),
            attributes: [.posixPermissions: 0o755])
        let before = sim.snapshot(active: "b")
        let v4 = try sim.bundle("4.0", securityVersion: 4, seed: 4)
        let refused = try sim.twinslot("install", v4)
        #expect(refused.status == 18)
        #expect(refused.stderr.contains("pre-install hook"))
        #expect(sim.snapshot(active: "b") == before)
    }

    @Test func reportsAndThePrometheusTextfile() throws {
        let sim = try SimulatedDeviceFixture("reports")
        let v2 = try sim.bundle("2.0", securityVersion: 2, seed: 2)
        #expect(try sim.twinslot("install", v2).status == 0)
        #expect(try CLI.twinslot("sim", "reboot", sim.device).status == 0)
        let reports = try sim.reports()
        let install = try #require(reports.first { $0["kind"] as? String == "install" })
        #expect(install["outcome"] as? String == "staged")
        #expect(install["version"] as? String == "2.0")
        #expect(install["target"] as? String == "B")
        let phases = (install["phases"] as! [[String: Any]]).map { $0["name"] as! String }
        #expect(phases == ["verify", "pre-install hooks", "write rootfs", "write firmware", "write apps", "flip"])
        #expect((install["slots"] as! [[String: Any]]).count == 3)
        #expect(reports.contains { $0["kind"] as? String == "boot" && $0["outcome"] as? String == "committed" })

        let metrics = try String(contentsOfFile: sim.device + "/data/twinslot.prom", encoding: .utf8)
        // 2.0 only: the first boot's adoption of group A is not a commit.
        #expect(metrics.contains("twinslot_updates_total{result=\"committed\"} 1"))
        #expect(metrics.contains("twinslot_updates_total{result=\"started\"} 1"))
        #expect(metrics.contains("twinslot_slot_version_info{slot_class=\"rootfs\",group=\"B\",version=\"2.0\"} 1"))
        #expect(metrics.contains("twinslot_installed_security_version 2"))
        #expect(metrics.contains("twinslot_booted_group_info{group=\"B\"} 1"))
        #expect(metrics.contains("# TYPE twinslot_updates_total counter"))

        // Bounded history.
        try sim.appendConfig("")
        var text = try String(contentsOfFile: sim.config, encoding: .utf8)
        text = text.replacingOccurrences(of: "reports-kept = 20", with: "reports-kept = 2")
        try text.write(toFile: sim.config, atomically: true, encoding: .utf8)
        #expect(try CLI.twinslot("sim", "reboot", sim.device).status == 0)
        #expect(try sim.reports().count == 2)
    }

    @Test func jsonProgressEventsThenTheResult() throws {
        let sim = try SimulatedDeviceFixture("progress")
        let v2 = try sim.bundle("2.0", securityVersion: 2, seed: 2)
        let result = try sim.twinslot("install", v2, "--json")
        #expect(result.status == 0)
        let lines = result.stdout.split(separator: "\n").map {
            try! JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
        }
        let events = lines.dropLast()
        #expect(events.allSatisfy { $0["event"] as? String == "progress" })
        #expect(Set(events.compactMap { $0["slot_class"] as? String }) == ["rootfs", "firmware", "apps"])
        let final = events.last { $0["slot_class"] as? String == "rootfs" }!
        #expect(final["bytes"] as? Int == final["total"] as? Int)
        #expect(lines.last?["outcome"] as? String == "staged")
        // Not a terminal and no --json: no progress at all.
        let sim2 = try SimulatedDeviceFixture("progress-quiet")
        let plain = try sim2.twinslot("install", try sim2.bundle("2.0", securityVersion: 2, seed: 2))
        #expect(!plain.stdout.contains("%") && !plain.stderr.contains("%"))
    }

    @Test func theSystemdUnitsVerify() throws {
        let directory = CLI.temporaryDirectory("units")
        let units = CLI.repositoryRoot + "/dist/systemd"
        var names: [String] = []
        for name in try FileManager.default.contentsOfDirectory(atPath: units).sorted() {
            let text = try String(contentsOfFile: units + "/" + name, encoding: .utf8)
                .replacingOccurrences(of: "/usr/bin/twinslot", with: CLI.binary)
            try text.write(toFile: directory + "/" + name, atomically: true, encoding: .utf8)
            names.append(directory + "/" + name)
        }
        // twinslot-recover.service (early), twinslot-boot.service (the decision, after
        // boot-complete.target), twinslot-agent.service (it loops by itself, no timer) and
        // twinslot.service (the D-Bus API, Type=dbus).
        #expect(
            names.map { ($0 as NSString).lastPathComponent } == [
                "twinslot-agent.service", "twinslot-boot.service", "twinslot-recover.service", "twinslot.service",
            ])
        let result = try CLI.run("/usr/bin/systemd-analyze", ["verify"] + names)
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(result.stderr.isEmpty, "\(result.stderr)")
    }
}
