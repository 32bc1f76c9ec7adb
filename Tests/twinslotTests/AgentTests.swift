import Foundation
import TestSupport
import Testing

/// `twinslot agent` against a real hawkBit-compatible server (goosebit on 127.0.0.1) and a
/// simulated device: the whole fleet story, one poll cycle at a time (`--once`).
@Suite(.serialized) struct AgentTests {
    let sim: SimulatedDeviceFixture
    let controller = "dev-" + UUID().uuidString.prefix(8).lowercased()

    init() throws {
        sim = try SimulatedDeviceFixture("agent")
    }

    /// A signed .swu carrying every slot class of the simulated device.
    func release(_ version: String, securityVersion: Int, seed: UInt8, selftestStatus: Int32 = 0) throws -> String {
        let release = try SwuRelease(sim, version: version, seed: seed, selftestStatus: selftestStatus)
        try release.builder.describe(release.description(sim, securityVersion: securityVersion))
        return try release.swu("release-\(version).swu")
    }

    func agent(_ server: String, _ extra: String...) throws -> CLI.Result {
        try CLI.run(
            CLI.binary,
            ["agent", "--server", server, "--controller-id", controller, "--once", "--json", "--retries", "2"] + extra,
            environment: sim.environment)
    }

    func cycle(_ server: String, _ extra: String...) throws -> [String: Any] {
        let result = try CLI.run(
            CLI.binary,
            ["agent", "--server", server, "--controller-id", controller, "--once", "--json", "--retries", "2"] + extra,
            environment: sim.environment)
        try #require(result.status == 0, "agent: \(result.status) \(result.stderr)")
        return try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
    }

    var rebootRequests: Int {
        ((try? String(contentsOfFile: sim.device + "/reboot-requests", encoding: .utf8)) ?? "")
            .split(separator: "\n").count
    }

    @Test func installsWhatTheServerAssignsAndReportsTheCommit() throws {
        let server = try GoosebitServer()
        defer { try? server.stop() }
        let software = try server.upload(path: try release("2.0.0", securityVersion: 2, seed: 2))

        // First contact: the device registers and tells what it runs.
        #expect(try cycle(server.url)["result"] as? String == "idle")
        var device = try server.device(controller)
        #expect(device.hardware?.revision == "twinslot-sim")

        try server.assign(device: controller, software: software)
        let installed = try cycle(server.url)
        #expect(installed["result"] as? String == "installed", "\(installed)")
        #expect(installed["version"] as? String == "2.0.0")
        #expect(rebootRequests == 1, "the agent asked for the reboot")
        #expect(try server.log(device: controller).contains("Downloaded"))

        // Before the reboot nothing is closed; the server still shows it running.
        #expect(try cycle(server.url)["result"] as? String == "waiting-for-boot")
        let metrics = try String(contentsOfFile: sim.device + "/data/twinslot.prom", encoding: .utf8)
        #expect(metrics.contains("twinslot_agent_consecutive_failures 0"), "\(metrics)")
        #expect(metrics.contains("twinslot_agent_action_info{id=\"\(software)\",phase=\"waiting-for-boot\"} 1"))
        #expect(metrics.contains("twinslot_agent_last_successful_poll_timestamp_seconds 1"))
        #expect(!metrics.contains("result=\"committed\"} 1"), "the adoption of group A is no commit: \(metrics)")

        let reboot = try sim.twinslot("sim", "reboot", sim.device)
        #expect(reboot.status == 0, "\(reboot.stderr)")
        #expect(try sim.status()["primary"] as? String == "B")

        let reported = try cycle(server.url)
        #expect(reported["result"] as? String == "reported")
        #expect(reported["success"] as? Bool == true)
        device = try server.device(controller)
        #expect(device.swVersion == "2.0.0")
        #expect(device.lastState.lowercased() == "finished", "\(device.lastState)")
        #expect(try cycle(server.url)["result"] as? String == "idle")
    }

    @Test func aFailedHealthCheckIsReportedWithItsDetails() throws {
        let server = try GoosebitServer()
        defer { try? server.stop() }
        let software = try server.upload(path: try release("3.0.0", securityVersion: 3, seed: 3, selftestStatus: 1))
        _ = try cycle(server.url)
        try server.assign(device: controller, software: software)
        #expect(try cycle(server.url)["result"] as? String == "installed")
        // The trial boot fails its health check: the boot service rolls back to A.
        _ = try sim.twinslot("sim", "reboot", sim.device)
        _ = try sim.twinslot("sim", "reboot", sim.device)
        #expect(try sim.status()["booted"] as? String == "A")

        let reported = try cycle(server.url)
        #expect(reported["success"] as? Bool == false, "\(reported)")
        let device = try server.device(controller)
        #expect(device.lastState.lowercased() == "error", "\(device.lastState)")
        #expect(device.swVersion != "3.0.0")
        let log = try server.log(device: controller)
        #expect(log.contains("apps-selftest"), "\(log)")
        #expect(log.contains("selftest 3.0.0"), "\(log)")
        // The per-check line comes from the boot report, found by its operation id.
        #expect(log.contains("health apps-selftest: FAILED"), "\(log)")
    }

    @Test func aDowngradeIsRefusedAndReportedAsAFailure() throws {
        let server = try GoosebitServer()
        defer { try? server.stop() }
        let newer = try server.upload(path: try release("5.0.0", securityVersion: 5, seed: 5))
        _ = try cycle(server.url)
        try server.assign(device: controller, software: newer)
        _ = try cycle(server.url)
        _ = try sim.twinslot("sim", "reboot", sim.device)
        #expect(try cycle(server.url)["success"] as? Bool == true)

        let older = try server.upload(path: try release("4.0.0", securityVersion: 4, seed: 4))
        try server.assign(device: controller, software: older)
        let before = sim.snapshot(active: "b", journal: false)
        let refused = try agent(server.url)
        #expect(refused.status == 13, "\(refused.stdout) \(refused.stderr)")
        #expect(sim.snapshot(active: "b", journal: false) == before)
        #expect(try server.device(controller).lastState.lowercased() == "error")
        #expect(try server.log(device: controller).contains("downgrade"))
    }

    @Test func anInterruptedDownloadResumesWhereItStopped() throws {
        let server = try GoosebitServer()
        defer { try? server.stop() }
        let swu = try release("2.0.0", securityVersion: 2, seed: 2)
        let size = try #require(try FileManager.default.attributesOfItem(atPath: swu)[.size] as? Int)
        try #require(size > 30_000)
        let software = try server.upload(path: swu)
        // The agent talks to the server through a proxy that cuts the first two large responses.
        let port = Int(server.url.split(separator: ":").last!)!
        let proxy = try DroppingProxy(upstreamPort: port, dropAfter: 10_000, drops: 2)
        _ = try cycle(proxy.url)
        try server.assign(device: controller, software: software)
        let installed = try cycle(proxy.url)
        #expect(installed["result"] as? String == "installed", "\(installed)")
        let downloads = try proxy.connections().filter { $0.request.contains("/download") }
        #expect(downloads.count == 3, "\(downloads)")
        #expect(downloads.prefix(2).allSatisfy { $0.cut })
        for download in downloads.dropFirst() {
            let range = try #require(download.range)
            let first = try #require(Int(range.dropFirst("bytes=".count).dropLast()))
            #expect(first > 0 && first < size, "\(range)")
        }
        // The bytes relayed (headers aside) are the artifact once, not more.
        let relayed = downloads.map(\.relayed).reduce(0, +)
        #expect(relayed < size + 3 * 1024, "relayed \(relayed) for an artifact of \(size)")
    }

    @Test func aKilledAgentResumesTheDownloadFromTheJournal() throws {
        let server = try GoosebitServer()
        defer { try? server.stop() }
        let swu = try release("2.0.0", securityVersion: 2, seed: 2)
        let software = try server.upload(path: swu)
        let port = Int(server.url.split(separator: ":").last!)!
        let proxy = try DroppingProxy(upstreamPort: port, dropAfter: 1 << 40, drops: 0)
        _ = try cycle(proxy.url)
        try server.assign(device: controller, software: software)
        // Killed after the first image is staged and the second begun.
        try ResumeAfterKillTests.killAtSecondImage(
            ["agent", "--server", proxy.url, "--controller-id", controller, "--once"], sim)

        let installed = try cycle(proxy.url)
        #expect(installed["result"] as? String == "installed", "\(installed)")
        let downloads = try proxy.connections().filter { $0.request.contains("/download") }
        let ranged = downloads.compactMap(\.range)
        #expect(ranged.count == 1, "\(downloads)")
        let first = Int(ranged.first?.dropFirst("bytes=".count).dropLast() ?? "") ?? 0
        #expect(first > 1000, "resumed at the second image's member, not at the start: \(ranged)")
        #expect(try sim.twinslot("sim", "reboot", sim.device).status == 0)
        #expect(try cycle(proxy.url)["success"] as? Bool == true)
        #expect(try server.device(controller).swVersion == "2.0.0")
    }

    @Test func aServerThatIsDownNeverStopsTheDeviceFromCommitting() throws {
        let directory = TestEnvironment.temporaryDirectory("goosebit-restart")
        var server = try GoosebitServer(directory: directory)
        let software = try server.upload(path: try release("2.0.0", securityVersion: 2, seed: 2))
        _ = try cycle(server.url)
        try server.assign(device: controller, software: software)
        #expect(try cycle(server.url)["result"] as? String == "installed")
        let url = server.url
        let port = Int(url.split(separator: ":").last!)!
        try server.stop()

        // The device boots, commits, and the agent cannot reach the server: network error.
        #expect(try sim.twinslot("sim", "reboot", sim.device).status == 0)
        #expect(try sim.status()["primary"] as? String == "B")
        let down = try agent(url)
        #expect(down.status == 19, "\(down.stderr)")

        // The server comes back (same database): the action is closed as a success.
        server = try GoosebitServer(directory: directory, port: port)
        defer { try? server.stop() }
        let reported = try cycle(server.url)
        #expect(reported["success"] as? Bool == true, "\(reported)")
        #expect(try server.device(controller).swVersion == "2.0.0")
    }
}
