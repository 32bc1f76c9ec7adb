import Foundation
import TestSupport
import Testing

/// A URL install is bounded in time, not only in stalls: a server that trickles is cut by the
/// low-speed limit, the retry budget and resume apply, and the install ends with the network
/// exit code; redirects go to http and https only, never round in circles.
@Suite struct HTTPBoundsTests {
    func trickling(_ sim: SimulatedDeviceFixture) throws -> MisbehavingServer {
        try MisbehavingServer(file: try sim.bundle("2.0", securityVersion: 2, seed: 2, incompressible: true))
    }

    /// Runs `install URL` with `arguments`, returning its result and how long it took.
    func timedInstall(_ sim: SimulatedDeviceFixture, _ arguments: String...) throws -> (CLI.Result, Double) {
        let start = Date()
        let result = try CLI.run(CLI.binary, ["install"] + arguments, environment: sim.environment)
        return (result, Date().timeIntervalSince(start))
    }

    @Test func aTricklingServerIsCutAndTheInstallEndsWithTheNetworkCode() throws {
        let sim = try SimulatedDeviceFixture("trickle")
        let server = try trickling(sim)
        let before = sim.snapshot(journal: false)
        // One byte every 0.5 s: alive (the old limit of 1 byte per second never cut it, and each
        // attempt's few new bytes renewed the retry budget), but far below 1 KiB/s.
        let (result, seconds) = try timedInstall(sim, server.url + "/trickle", "--stall-timeout", "2", "--retries", "2")
        #expect(result.status == 19, "\(result.stderr)")
        #expect(result.stderr.contains("after 2 attempts"), "\(result.stderr)")
        // The documented bound (docs/fleet.md): attempts × (connect timeout 15 s + low-speed
        // time + 1 s) + the backoffs (0.5 s here).
        #expect(seconds < 2 * (15 + 2 + 1) + 0.5, "took \(seconds) s")
        let requests = try server.requests()
        #expect(requests.count == 2, "\(requests)")
        // The second attempt resumed after the bytes the first one trickled.
        let range = try #require(requests.last?.range, "\(requests)")
        let first = try #require(Int(range.dropFirst("bytes=".count).dropLast()), "\(range)")
        #expect(first > 0, "\(range)")
        #expect(sim.snapshot(journal: false) == before)
        #expect(try sim.status()["booted"] as? String == "A")
    }

    @Test func aServerThatSendsAFewBytesAndHangsUpSpendsTheRetryBudget() throws {
        let sim = try SimulatedDeviceFixture("hangup")
        let server = try trickling(sim)
        // Each attempt brings 16 new bytes: they used to renew the budget, for ever.
        let (result, seconds) = try timedInstall(sim, server.url + "/hangup", "--retries", "3")
        #expect(result.status == 19, "\(result.stderr)")
        #expect(result.stderr.contains("after 3 attempts"), "\(result.stderr)")
        #expect(seconds < 3 * (15 + 30 + 1) + 0.5 + 1, "took \(seconds) s")
        let requests = try server.requests()
        #expect(requests.count == 3, "\(requests)")
        #expect(requests.last?.range == "bytes=32-", "\(requests)")
    }

    @Test func theLowSpeedLimitComesFromSystemToml() throws {
        let sim = try SimulatedDeviceFixture("trickle-config")
        let server = try trickling(sim)
        // sim init writes every setting, the [network] defaults included.
        let config = try String(contentsOfFile: sim.config, encoding: .utf8)
        try #require(config.contains("low-speed-limit = 1024\nlow-speed-time = \"30s\""), "\(config)")
        try config.replacingOccurrences(of: "low-speed-limit = 1024", with: "low-speed-limit = 4096")
            .replacingOccurrences(of: "low-speed-time = \"30s\"", with: "low-speed-time = \"2s\"")
            .write(toFile: sim.config, atomically: true, encoding: .utf8)
        let (result, seconds) = try timedInstall(sim, server.url + "/trickle", "--retries", "1")
        #expect(result.status == 19, "\(result.stderr)")
        #expect(result.stderr.contains("after 1 attempt"), "\(result.stderr)")
        #expect(seconds < 15 + 2 + 1, "took \(seconds) s")
    }

    @Test(arguments: ["file", "gopher", "loop"]) func aRedirectElsewhereThanHTTPIsANetworkError(_ target: String)
        throws
    {
        let sim = try SimulatedDeviceFixture("redirect-\(target)")
        let server = try trickling(sim)
        let result = try sim.twinslot("install", server.url + "/redirect/" + target, "--retries", "1")
        #expect(result.status == 19, "\(result.stderr)")
        #expect(result.stderr.contains("redirected where twinslot does not follow"), "\(result.stderr)")
        if target == "loop" {
            // At most 10 redirects are followed: the first request and 10 more.
            #expect(try server.requests().count == 11)
        }
    }

    @Test(arguments: ["HTTP", "Http"]) func aURLSchemeIsCaseInsensitive(_ scheme: String) throws {
        let sim = try SimulatedDeviceFixture("scheme-\(scheme)")
        let www = sim.root + "/www"
        try FileManager.default.createDirectory(atPath: www, withIntermediateDirectories: true)
        try FileManager.default.copyItem(
            atPath: try sim.bundle("2.0", securityVersion: 2, seed: 2), toPath: www + "/v2.tsb")
        let nginx = try NginxServer(serving: www)
        let url = nginx.url.replacingOccurrences(of: "http://", with: scheme + "://") + "/v2.tsb"
        let result = try sim.twinslot("install", url, "--json")
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("\"download\""), "streamed as a URL: \(result.stdout)")
    }
}
