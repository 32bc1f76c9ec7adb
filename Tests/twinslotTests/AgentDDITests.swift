import Foundation
import TestSupport
import Testing

/// `twinslot agent` against fixtures/net/ddi-responder.py, a scripted DDI server on 127.0.0.1
/// that follows the hawkBit DDI API documentation, for what goosebit does not implement:
/// cancelAction, maintenance windows, `skip`/`attempt`, GatewayToken, artifacts on another host,
/// Retry-After, a slow feedback endpoint.
@Suite(.serialized) struct AgentDDITests {
    let sim: SimulatedDeviceFixture
    let controller = "dev-ddi"

    init() throws {
        sim = try SimulatedDeviceFixture("agent-ddi")
    }

    func responder(_ extra: [String: Any] = [:], action: [String: Any] = [:], incompressible: Bool = false)
        throws -> DDIResponder
    {
        let bundle = try sim.bundle("2.0", securityVersion: 2, seed: 2, incompressible: incompressible)
        var act: [String: Any] = ["id": "7", "version": "2.0", "artifact": bundle]
        act.merge(action) { $1 }
        var scenario: [String: Any] = ["sleep": "00:00:01", "action": act]
        scenario.merge(extra) { $1 }
        return try DDIResponder(scenario)
    }

    func agent(_ server: DDIResponder, _ extra: [String]) throws -> CLI.Result {
        try CLI.run(
            CLI.binary,
            ["agent", "--server", server.url, "--controller-id", controller, "--once", "--json", "--retries", "2"]
                + extra, environment: sim.environment)
    }

    func cycle(_ server: DDIResponder, _ extra: String...) throws -> [String: Any] {
        let result = try agent(server, extra)
        try #require(result.status == 0, "agent: \(result.status) \(result.stdout) \(result.stderr)")
        return try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
    }

    func feedbacks(_ server: DDIResponder, _ resource: String = "deploymentBase") throws -> [DDIResponder.Request] {
        try server.requests().filter {
            $0.method == "POST" && $0.path.contains("/\(resource)/") && $0.path.contains("/feedback")
        }
    }

    var metrics: String { (try? String(contentsOfFile: sim.device + "/data/twinslot.prom", encoding: .utf8)) ?? "" }

    @Test func skipAttemptAndForcedAreHonoured() throws {
        let server = try responder(action: ["download": "skip", "update": "skip"])
        // download: skip — nothing is fetched, nothing reported.
        #expect(try cycle(server)["result"] as? String == "idle")
        #expect(try server.requests().filter { $0.server == "cdn" }.isEmpty)
        #expect(try feedbacks(server).isEmpty)

        // download: attempt, update: skip — downloaded, reported, not installed.
        try server.control(["action": ["download": "attempt", "update": "skip"]])
        let before = sim.snapshot(active: "b", journal: true)
        let downloaded = try cycle(server)
        #expect(downloaded["result"] as? String == "downloaded", "\(downloaded)")
        #expect(sim.snapshot(active: "b", journal: true) == before, "nothing written while the update is skipped")
        #expect(try feedbacks(server).contains { $0.execution == "downloaded" })
        #expect(metrics.contains("twinslot_agent_action_info{id=\"7\",phase=\"downloaded\"} 1"), "\(metrics)")

        // update: attempt — twinslot consents: installed from the file it downloaded (one fetch in all).
        try server.control(["action": ["update": "attempt"]])
        let installed = try cycle(server)
        #expect(installed["result"] as? String == "installed", "\(installed)")
        #expect(try server.requests().filter { $0.server == "cdn" && $0.method == "GET" }.count == 1)
        #expect(try sim.status()["operation"] != nil)
    }

    @Test func aMaintenanceWindowDefersTheInstallAndACancelIsAcceptedBeforeWriting() throws {
        let server = try responder(action: ["maintenance_window": "unavailable"])
        let before = sim.snapshot(active: "b", journal: true)
        #expect(try cycle(server)["result"] as? String == "downloaded")
        #expect(try cycle(server)["result"] as? String == "downloaded", "still outside the window, no second fetch")
        #expect(try server.requests().filter { $0.server == "cdn" && $0.method == "GET" }.count == 1)
        #expect(sim.snapshot(active: "b", journal: true) == before)
        let kept = try FileManager.default.contentsOfDirectory(atPath: sim.device + "/data/agent-download")
        #expect(kept.count == 1)

        // The operator cancels: nothing was written, so the cancel is accepted and closed.
        try server.control(["action": ["cancel": true]])
        #expect(try cycle(server)["result"] as? String == "canceled")
        let cancel = try #require(try feedbacks(server, "cancelAction").last)
        #expect(cancel.execution == "closed", "\(cancel.body)")
        #expect(cancel.body.contains("\"finished\":\"success\""), "\(cancel.body)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: sim.device + "/data/agent-download").isEmpty)
        #expect(sim.snapshot(active: "b", journal: true) == before)
        #expect(try cycle(server)["result"] as? String == "idle", "the action is gone")
    }

    @Test func theWindowOpensTheInstallRunsAndALateCancelIsRejected() throws {
        let server = try responder(action: ["maintenance_window": "unavailable"])
        #expect(try cycle(server)["result"] as? String == "downloaded")
        try server.control(["action": ["maintenance_window": "available"]])
        let installed = try cycle(server)
        #expect(installed["result"] as? String == "installed", "\(installed)")
        #expect(try server.requests().filter { $0.server == "cdn" && $0.method == "GET" }.count == 1)
        #expect(metrics.contains("phase=\"waiting-for-boot\""), "\(metrics)")

        // The bundle is staged and the trial boot pending: too late to cancel.
        try server.control(["action": ["cancel": true]])
        #expect(try cycle(server)["result"] as? String == "cancel-rejected")
        let reply = try #require(try feedbacks(server, "cancelAction").last)
        #expect(reply.execution == "rejected", "\(reply.body)")
        #expect(reply.body.contains("trial"), "the reason is given: \(reply.body)")

        // The boot decides and the action is closed with the outcome.
        #expect(try sim.twinslot("sim", "reboot", sim.device).status == 0)
        try server.control(["action": ["cancel": false]])
        let reported = try cycle(server)
        #expect(reported["success"] as? Bool == true, "\(reported)")
        #expect(try feedbacks(server).last?.execution == "closed")
    }

    @Test func anInstallThatWillRetryShowsItsPhaseAndKeepsTheActionOpen() throws {
        let server = try responder(action: ["artifact_status": 503])
        let failed = try agent(server, [])
        #expect(failed.status == 19, "\(failed.stderr)")
        #expect(metrics.contains("twinslot_agent_action_info{id=\"7\",phase=\"installing\"} 1"), "\(metrics)")
        #expect(metrics.contains("twinslot_agent_consecutive_failures 1"))
        #expect(try feedbacks(server).last?.body.contains("will retry") == true)
        #expect(try feedbacks(server).allSatisfy { $0.execution != "closed" })
        try server.control(["action": ["artifact_status": 0]])
        #expect(try cycle(server)["result"] as? String == "installed")
        #expect(metrics.contains("phase=\"waiting-for-boot\""))
    }

    @Test func aGatewayTokenGoesToTheServerAndNoTokenToTheCDN() throws {
        let server = try responder(["gateway_token": "gw-secret"])
        let tokenFile = sim.root + "/gateway-token"
        try "gw-secret\n".write(toFile: tokenFile, atomically: true, encoding: .utf8)
        let wrong = sim.root + "/wrong-token"
        try "nope\n".write(toFile: wrong, atomically: true, encoding: .utf8)
        #expect(try agent(server, ["--gateway-token-file", wrong]).status == 11, "401: untrusted")

        let installed = try cycle(server, "--gateway-token-file", tokenFile)
        #expect(installed["result"] as? String == "installed", "\(installed)")
        let requests = try server.requests()
        let ddi = requests.filter { $0.server == "ddi" && $0.status != 401 }
        let cdn = requests.filter { $0.server == "cdn" }
        #expect(!ddi.isEmpty && !cdn.isEmpty)
        #expect(ddi.allSatisfy { $0.authorization == "GatewayToken gw-secret" }, "\(ddi.map(\.authorization))")
        #expect(cdn.allSatisfy { $0.authorization == nil }, "the CDN on another port saw \(cdn.map(\.authorization))")
    }

    @Test func aTargetTokenGoesWithDownloadsFromTheServersOwnOrigin() throws {
        let server = try responder(["target_token": "t0k3n"], action: ["artifact_on_ddi": true])
        let tokenFile = sim.root + "/token"
        try "t0k3n\n".write(toFile: tokenFile, atomically: true, encoding: .utf8)
        #expect(try cycle(server, "--token-file", tokenFile)["result"] as? String == "installed")
        let downloads = try server.requests().filter { $0.path.hasPrefix("/artifacts/") }
        #expect(!downloads.isEmpty)
        #expect(downloads.allSatisfy { $0.server == "ddi" && $0.authorization == "TargetToken t0k3n" })
    }

    @Test func operatorAttributesFromAFileAndFromACommand() throws {
        let server = try responder(["config_link": true], action: ["download": "skip"])
        let file = sim.root + "/attributes"
        try "# site data\nserial = 0042\nsite=plant-3\n".write(toFile: file, atomically: true, encoding: .utf8)
        _ = try cycle(server, "--attributes-file", file)
        var put = try #require(try server.requests().last { $0.method == "PUT" })
        let data = try #require(put.json["data"] as? [String: String])
        #expect(data["serial"] == "0042" && data["site"] == "plant-3", "\(data)")
        #expect(data["hw_revision"] == "twinslot-sim" && data["sw_version"] != nil && data["hw_boardname"] == "default")

        let command = sim.root + "/attributes.sh"
        try "#!/bin/sh\necho modem=fw-7.1\n".write(toFile: command, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: command)
        _ = try cycle(server, "--attributes-command", command)
        put = try #require(try server.requests().last { $0.method == "PUT" })
        #expect((put.json["data"] as? [String: String])?["modem"] == "fw-7.1", "\(put.body)")
    }

    @Test func progressFeedbackNeverStallsTheImageWriting() throws {
        // Every progress feedback takes the server 6 s to answer.
        let delay = 6.0
        let server = try responder(["feedback_delay": delay], incompressible: true)
        let result = try agent(server, [])
        #expect(result.status == 0, "\(result.stderr)")
        // The responder logs a delayed feedback when it answers it.
        var all = try feedbacks(server)
        let waitUntil = Date().addingTimeInterval(delay + 3)
        while !all.contains(where: { $0.body.contains("\"progress\"") }) && Date() < waitUntil {
            usleep(200_000)
            all = try feedbacks(server)
        }
        let staged = try #require(all.first { $0.body.contains("staged in group") })
        let progress = all.filter { $0.body.contains("\"progress\"") }
        #expect(progress.count >= 1 && progress.count < 9, "coalesced: \(progress.count) progress feedbacks")
        // The install finished (and reported "staged") before the first progress reply came back.
        let answered = try #require(progress.first?.answered)
        #expect(staged.time < answered, "staged at \(staged.time), first progress answered at \(answered)")
        // The agent counts what it coalesced: fewer requests than progress events.
        let line = try #require(result.stderr.split(separator: "\n").first { $0.contains("feedback_requests=") })
        func number(_ key: String) -> Int? {
            line.split(separator: " ").first { $0.hasPrefix(key + "=") }.flatMap { Int($0.dropFirst(key.count + 1)) }
        }
        let events = try #require(number("events"))
        let requests = try #require(number("feedback_requests"))
        #expect(requests < events, "\(line)")
    }

    @Test func backoffHonoursRetryAfterAndMetricsCountFailures() throws {
        let server = try responder(["poll_errors": [[503, 2]]], action: ["download": "skip"])
        // --once: the failed poll is a network error, and a failure in a row in the metrics.
        #expect(try agent(server, []).status == 19)
        #expect(metrics.contains("twinslot_agent_consecutive_failures 1"), "\(metrics)")
        #expect(try cycle(server)["result"] as? String == "idle")
        #expect(metrics.contains("twinslot_agent_consecutive_failures 0"))
        #expect(metrics.contains("twinslot_agent_action_info{id=\"\",phase=\"idle\"} 1"))
        let stamp = try #require(
            metrics.split(separator: "\n").first {
                $0.hasPrefix("twinslot_agent_last_successful_poll_timestamp_seconds ")
            }
        )
        let seconds = try #require(Double(stamp.split(separator: " ")[1]))
        #expect(abs(seconds - Date().timeIntervalSince1970) < 60)

        // The looping agent: a 503 with Retry-After: 2, then a 429 without, then success. Its
        // own backoff is tiny (0.1 s), so the 2 s gap can only come from the Retry-After.
        try server.control(["poll_errors": [[503, 2], [429, NSNull()]]])
        let loop = try BackgroundProcess(
            CLI.binary,
            [
                "agent", "--server", server.url, "--controller-id", controller, "--backoff-initial", "0.1",
                "--backoff-max", "0.2",
            ], environment: sim.environment)
        defer { loop.stop() }
        let deadline = Date().addingTimeInterval(20)
        var polls: [DDIResponder.Request] = []
        let previous = try server.requests().filter(isPoll).count
        while Date() < deadline {
            polls = Array(try server.requests().filter(isPoll).dropFirst(previous))
            if polls.count >= 3 { break }
            usleep(100_000)
        }
        try #require(polls.count >= 3, "\(polls.map(\.status))")
        #expect(polls[0].status == 503 && polls[1].status == 429 && polls[2].status == 200)
        let afterRetryAfter = polls[1].time - polls[0].time
        #expect(afterRetryAfter >= 2 && afterRetryAfter < 2.2 + 1, "waited \(afterRetryAfter) s after Retry-After: 2")
        let afterBackoff = polls[2].time - polls[1].time
        #expect(afterBackoff < 1, "full-jitter backoff below 0.1 s, got \(afterBackoff) s")
    }

    func isPoll(_ request: DDIResponder.Request) -> Bool {
        request.method == "GET" && request.server == "ddi" && request.path.hasSuffix("/controller/v1/\(controller)")
    }
}
