import Foundation
import TestSupport
import Testing

/// A URL install moves at the speed of its slowest stage, not of a timer (issue 12: 512 KiB per
/// second whatever the server, the reader blocked in `poll` with megabytes in the socket). The
/// checks are on how the transfer waited (`download` in `install --json`), not on wall time,
/// so a busy machine cannot make them pass or fail.
@Suite struct HTTPWireSpeedTests {
    enum Server: String, CaseIterable, Sendable { case nginx, python, nginxTLS }

    @Test(arguments: Server.allCases) func aURLInstallWaitsOnTheNetworkNeverOnATimer(_ server: Server) throws {
        let sim = try SimulatedDeviceFixture("wire-\(server.rawValue)")
        let bundle = try sim.bundle("2.0", securityVersion: 2, seed: 2, incompressible: true)
        let www = sim.root + "/www"
        try FileManager.default.createDirectory(atPath: www, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: bundle, toPath: www + "/v2.tsb")
        let size = try #require(try FileManager.default.attributesOfItem(atPath: bundle)[.size] as? Int)
        var pin: [String] = []
        let nginx: NginxServer?
        switch server {
        case .nginx: nginx = try NginxServer(serving: www)
        case .python: nginx = nil
        case .nginxTLS:
            let certificates = try TLSInstallTests.Certificates(in: sim.root)
            nginx = try NginxServer(
                serving: www, tls: .init(certificate: certificates.server, key: certificates.serverKey))
            pin = ["--ca-file", certificates.ca]
        }
        let python = server == .python ? try PythonHTTPServer(serving: www) : nil
        let base = try #require(nginx?.url ?? python?.url)

        let result = try CLI.run(
            CLI.binary, ["install", base + "/v2.tsb", "--json"] + pin, environment: sim.environment)
        #expect(result.status == 0, "\(result.stderr)")
        let line = try #require(result.stdout.split(separator: "\n").last)
        let report = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        let download = try #require(report["download"] as? [String: Any])
        #expect(download["bytes_received"] as? Int == size)
        // The bug: after the read-ahead bound paused the transfer, the reader waited in poll for
        // a socket libcurl was not watching, and only the 1 s timeout woke it: one such wait
        // per 512 KiB (4 or 5 for this 3 MiB bundle). Now a paused transfer never waits.
        #expect(download["paused_polls"] as? Int == 0, "\(download)")
        // Waits end because bytes arrived, not by a timer (libcurl's own timers may end one or two).
        let timeouts = try #require(download["poll_timeouts"] as? Int)
        #expect(timeouts <= 2, "\(download)")
        // Bytes that arrive while the reader waits go straight into its buffer: only the excess
        // of a burst is queued and copied twice. Before, every byte was (queued_bytes == size).
        let queued = try #require(download["queued_bytes"] as? Int)
        #expect(queued < size / 4, "\(download)")
        // libcurl hands the body over in pieces of at most 16 KiB; a pause holds the rest of a
        // receive (libcurl copies it) until the reader's next buffer. One pause per reader's
        // buffer at most (the tar reader's 256 KiB, the pipeline's 128 KiB): pausing for every
        // piece that does not fit, or every piece, would be 8 to 16 times as many.
        let pauses = try #require(download["pauses"] as? Int)
        #expect(pauses <= size / (64 << 10) + 4, "\(download)")
    }
}
