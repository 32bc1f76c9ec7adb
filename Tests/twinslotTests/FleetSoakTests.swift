import Foundation
import TestSupport
import Testing

/// scripts/fleet-soak.sh in the suite: goosebit and 20 simulated devices, each with its own
/// looping agent, a rollout to all, a server restart in the middle, one failing health check.
/// It catches what only a fleet shows: agents that give up or hammer the server after the
/// restart, actions never closed, a rollback reported as a success, a device stuck in between.
@Suite struct FleetSoakTests {
    @Test(.timeLimit(.minutes(8))) func twentyDevicesARestartAndOneRollback() throws {
        let result = try TestEnvironment.run(
            "/bin/bash", [TestEnvironment.repositoryRoot + "/scripts/fleet-soak.sh", "20", "300"],
            environment: ["TWINSLOT_BIN": CLI.binary])
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(result.status == 0, "\(result.stdout)\n\(result.stderr.suffix(4000))")
        #expect(lines.contains("devices: 20, committed: 19, rolled back: 1, stuck: 0"), "\(result.stdout)")
        let requests = try #require(lines.first { $0.hasPrefix("server requests: ") })
        let count = try #require(Int(requests.dropFirst("server requests: ".count)))
        // Every device polled through the rollout; and no device hammered the server (a poll
        // every 2 s for at most a few minutes, plus the install's own requests).
        #expect(count > 20 * 5 && count < 20 * 300, "\(requests)")
    }
}
