import Foundation
import TestSupport
import Testing

/// `twinslot install URL` against the real nginx on 127.0.0.1, directly and through a proxy that
/// cuts connections mid-stream.
@Suite struct HTTPInstallTests {
    func lastJSONLine(_ text: String) throws -> [String: Any] {
        let line = try #require(text.split(separator: "\n").last)
        return try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
    }

    func served(_ sim: SimulatedDeviceFixture, _ bundle: String) throws -> (NginxServer, String, Int) {
        let www = sim.root + "/www"
        try FileManager.default.createDirectory(atPath: www, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: bundle, toPath: www + "/v2.tsb")
        let size = try #require(try FileManager.default.attributesOfItem(atPath: bundle)[.size] as? Int)
        return (try NginxServer(serving: www), "/v2.tsb", size)
    }

    @Test func streamsABundleFromNginx() throws {
        let sim = try SimulatedDeviceFixture("http")
        let (nginx, path, size) = try served(
            sim, try sim.bundle("2.0", securityVersion: 2, seed: 2, incompressible: true))
        let result = try sim.twinslot("install", nginx.url + path, "--json")
        #expect(result.status == 0, "\(result.stderr)")
        let report = try lastJSONLine(result.stdout)
        #expect(report["outcome"] as? String == "staged")
        let download = try #require(report["download"] as? [String: Any])
        #expect(download["bytes_received"] as? Int == size)
        #expect(download["resumes"] as? Int == 0)
        #expect(sim.bytes("slots/rootfs-b.img") != nil)
        let rebooted = try sim.twinslot("sim", "reboot", sim.device)
        #expect(rebooted.status == 0, "\(rebooted.stderr)")
        #expect(sim.group("B", in: try sim.status())["version"] as? String == "2.0")
    }

    @Test func resumesAfterDroppedConnectionsWithoutRefetching() throws {
        let sim = try SimulatedDeviceFixture("http-drop")
        let (nginx, path, size) = try served(
            sim, try sim.bundle("2.0", securityVersion: 2, seed: 2, incompressible: true))
        let proxy = try DroppingProxy(upstreamPort: nginx.port, dropAfter: 700_000, drops: 2)
        let result = try sim.twinslot("install", proxy.url + path, "--json")
        #expect(result.status == 0, "\(result.stderr)")
        let download = try #require(try lastJSONLine(result.stdout)["download"] as? [String: Any])
        #expect(download["resumes"] as? Int == 2)
        #expect(download["bytes_received"] as? Int == size, "nothing was received twice")
        #expect(download["bytes_refetched"] as? Int == 0)
        let connections = try proxy.connections()
        #expect(connections.count == 3)
        #expect(connections.prefix(2).allSatisfy { $0.cut })
        #expect(connections[0].range == nil)
        // Each resume asks for the first byte it has not received.
        for connection in connections.dropFirst() {
            let range = try #require(connection.range)
            let first = try #require(Int(range.dropFirst("bytes=".count).dropLast()))
            #expect(first > 0 && first < size, "\(range)")
        }
        #expect(sim.group("B", in: try sim.status())["bootloader"] as? String == "trial")
    }

    @Test func aLinkThatFailsButProgressesKeepsGoing() throws {
        let sim = try SimulatedDeviceFixture("http-flaky")
        let (nginx, path, size) = try served(
            sim, try sim.bundle("2.0", securityVersion: 2, seed: 2, incompressible: true))
        // Every connection is cut after 500 kB, more times than the retry budget: each one
        // delivers new bytes, so the budget (failures in a row) is never spent.
        let proxy = try DroppingProxy(upstreamPort: nginx.port, dropAfter: 500_000, drops: 1000)
        let result = try sim.twinslot("install", proxy.url + path, "--json", "--retries", "2")
        #expect(result.status == 0, "\(result.stderr)")
        let download = try #require(try lastJSONLine(result.stdout)["download"] as? [String: Any])
        #expect((download["resumes"] as? Int ?? 0) >= size / 500_000)
        #expect(download["bytes_received"] as? Int == size)
    }

    @Test func aLinkThatKeepsFailingGivesUpWithTheNetworkExitCodeAndLosesNothing() throws {
        let sim = try SimulatedDeviceFixture("http-fail")
        let (nginx, path, _) = try served(sim, try sim.bundle("2.0", securityVersion: 2, seed: 2, incompressible: true))
        // Every connection dies inside the response headers: no attempt makes progress.
        let proxy = try DroppingProxy(upstreamPort: nginx.port, dropAfter: 60, drops: 1000)
        let before = sim.snapshot(journal: false)
        let result = try sim.twinslot("install", proxy.url + path, "--json", "--retries", "3")
        #expect(result.status == 19, "\(result.stderr)")
        #expect(result.stderr.contains("after 3 attempts"), "\(result.stderr)")
        #expect(sim.snapshot(journal: false) == before)
        #expect(try proxy.connections().count == 3)
        let status = try sim.status()
        #expect(status["booted"] as? String == "A")
        #expect(try sim.twinslot("install", nginx.url + path, "--json").status == 0, "a later install succeeds")
    }

    @Test func aMissingBundleIsANetworkErrorAtOnce() throws {
        let sim = try SimulatedDeviceFixture("http-404")
        let (nginx, _, _) = try served(sim, try sim.bundle("2.0", securityVersion: 2, seed: 2, incompressible: true))
        let result = try sim.twinslot("install", nginx.url + "/nope.tsb")
        #expect(result.status == 19)
        #expect(result.stderr.contains("HTTP 404"), "\(result.stderr)")
    }

    @Test func nothingListeningIsRetriedThenRefused() throws {
        let sim = try SimulatedDeviceFixture("http-down")
        let result = try sim.twinslot("install", "http://127.0.0.1:\(freeLoopbackPort())/x.tsb", "--retries", "2")
        #expect(result.status == 19)
        #expect(result.stderr.contains("after 2 attempts"), "\(result.stderr)")
    }
}
