import Testing
import TwinslotCore

@testable import TwinslotFleet

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The small rules of the agent: backoff and Retry-After, which origin gets the token, operator
/// attributes.
@Suite struct AgentPolicyTests {
    @Test func backoffIsCappedFullJitterAndNeverBeforeRetryAfter() {
        let schedule = PollSchedule(initialBackoff: 5, maximumBackoff: 300)
        for failures in 1...40 {
            let pause = schedule.afterFailure(failures, retryAfter: nil)
            #expect(
                pause >= 0 && pause <= min(300.0, 5.0 * Double(1 << min(failures - 1, 30))), "\(failures): \(pause)")
        }
        // Full jitter: the pauses of a fleet spread over the whole range, not around one value.
        let pauses = (0..<2000).map { _ in schedule.afterFailure(10, retryAfter: nil) }
        #expect(pauses.min()! < 30 && pauses.max()! > 270)
        for _ in 0..<200 {
            let pause = schedule.afterFailure(1, retryAfter: 120)
            #expect(pause >= 120 && pause <= 132)
        }
        #expect(schedule.afterFailure(1, retryAfter: 1e9) <= 3600 * 1.1)
        for _ in 0..<200 {
            let sleep = schedule.afterSuccess(sleep: 100)
            #expect(sleep >= 90 && sleep <= 110)
        }
    }

    @Test func retryAfterInSecondsOrAsAnHTTPDate() {
        #expect(PollSchedule.retryAfterSeconds("120") == 120)
        #expect(PollSchedule.retryAfterSeconds(" 7 ") == 7)
        let now = Date(timeIntervalSince1970: 784_111_717)  // Sun, 06 Nov 1994 08:48:37 GMT
        #expect(PollSchedule.retryAfterSeconds("Sun, 06 Nov 1994 08:49:37 GMT", now: now) == 60)
        #expect(PollSchedule.retryAfterSeconds("Sun, 06 Nov 1994 08:40:00 GMT", now: now) == 0)
        #expect(PollSchedule.retryAfterSeconds("soon") == nil)
        #expect(PollSchedule.retryAfterSeconds(nil) == nil)
        #expect(PollSchedule.retryAfterSeconds("-5") == nil)
    }

    @Test func theTokenGoesOnlyToTheDDIServersOrigin() throws {
        var options = HTTPOptions()
        options.headers = [(name: "X-Site", value: "3")]
        let client = try DDIClient(
            server: "https://ddi.example.com/", tenant: "DEFAULT", controllerID: "gw-1", credential: .target("t"),
            options: options)
        func authorized(_ url: String) -> Bool {
            client.downloadOptions(for: url).headers.contains { $0.name == "Authorization" }
        }
        #expect(authorized("https://ddi.example.com/DEFAULT/controller/v1/gw-1/softwaremodules/1/artifacts/a"))
        #expect(authorized("https://DDI.example.com:443/x"))
        #expect(!authorized("https://cdn.example.com/x"))
        #expect(!authorized("https://ddi.example.com:8443/x"))
        #expect(!authorized("http://ddi.example.com/x"), "another scheme is another origin")
        #expect(!authorized("https://ddi.example.com.evil.net/x"))
        #expect(!authorized("https://ddi.example.com@evil.net/x"))
        #expect(client.downloadOptions(for: "https://cdn.example.com/x").headers.contains { $0.name == "X-Site" })
        #expect(client.options.headers.contains { $0 == (name: "Authorization", value: "TargetToken t") })
        let gateway = try DDIClient(
            server: "http://127.0.0.1:8080", tenant: "T", controllerID: "d", credential: .gateway("g"),
            options: HTTPOptions())
        #expect(gateway.options.headers.contains { $0 == (name: "Authorization", value: "GatewayToken g") })
        #expect(gateway.downloadOptions(for: "http://127.0.0.1:8081/a").headers.isEmpty)
    }

    @Test func attributesAreKeyValueLines() throws {
        let parsed = try AgentAttributes.parse("# comment\n serial = 0042 \n\nsite=plant=3\n")
        #expect(parsed == ["serial": "0042", "site": "plant=3"])
        #expect(throws: FleetError.self) { try AgentAttributes.parse("no equals sign") }
        #expect(throws: FleetError.self) { try AgentAttributes.parse("=value") }
        #expect(try AgentAttributes.command(["/bin/sh", "-c", "echo a=1; echo b=2"]).read() == ["a": "1", "b": "2"])
        #expect(throws: FleetError.self) { try AgentAttributes.command(["/bin/false"]).read() }
        #expect(throws: FleetError.self) { try AgentAttributes.file("/nonexistent/attributes").read() }
    }

    @Test func versionsCompareSemverLike() {
        let ordered = [
            "0.9", "1.0.0-alpha", "1.0.0-rc1", "1.0.0", "1.0.1", "1.5", "1.9", "1.10", "2.0", "v3", "2024.03",
        ]
        for (index, older) in ordered.enumerated() {
            for newer in ordered[(index + 1)...] {
                #expect(VersionOrder.isOlder(older, than: newer), "\(older) < \(newer)")
                #expect(!VersionOrder.isOlder(newer, than: older), "\(newer) !< \(older)")
            }
        }
        #expect(VersionOrder.compare("1.0", "1.0.0") == 0)
        #expect(VersionOrder.compare("2.0+build7", "2.0") == 0)
        #expect(VersionOrder.isOlder("1.5", than: "3.0"))
    }
}

/// The polling interval the agent takes from a DDI controller base (fuzz target `ddi`).
@Suite struct DDIPollingSleepTests {
    func sleep(_ text: String) throws -> Double? {
        let json = #"{"config":{"polling":{"sleep":"\#(text)"}},"_links":{}}"#
        return try JSONDecoder().decode(DDI.ControllerBase.self, from: Data(json.utf8)).sleepSeconds
    }

    @Test func hoursMinutesSecondsAreRead() throws {
        #expect(try sleep("00:05:00") == 300)
        #expect(try sleep("01:00:30") == 3630)
        #expect(try sleep("00:00:00") == 0)
    }

    /// Each of these was read as a negative, NaN or infinite number of seconds, which trapped
    /// the looping agent (`usleep(UInt32(...))`); the agent now keeps its interval instead.
    @Test(arguments: [
        "-01:00:00", "00:-5:00", "nan:00:00", "inf:00:00", "1e309:00:00", "+1:00:00", " 1:00:00", "1.5:00:00",
        "0x10:00:00", "00:05", "00:05:00:00", "::", "99999999999999999999:00:00",
    ])
    func malformedSleepIsRefused(_ text: String) throws {
        #expect(try sleep(text) == nil, "\(text)")
    }
}
