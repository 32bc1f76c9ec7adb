import Foundation

/// `python3 -m http.server` serving a directory on 127.0.0.1: no ranges, no keep-alive, 64 KiB
/// writes, the server an operator tries first.
public final class PythonHTTPServer {
    public let port: Int
    private let process: BackgroundProcess

    public var url: String { "http://127.0.0.1:\(port)" }

    public init(serving root: String) throws {
        port = freeLoopbackPort()
        process = try BackgroundProcess(
            "/usr/bin/python3", ["-m", "http.server", "\(port)", "--bind", "127.0.0.1", "--directory", root])
        try NginxServer.waitForPort(port)
    }

    public func stop() { process.stop() }
    deinit { stop() }
}

/// fixtures/net/misbehaving-server.py: a server that trickles one byte every `interval` seconds
/// (`/trickle`), sends 16 bytes and hangs up (`/hangup`), and redirects to `file://`, `gopher://` or itself (`/redirect/…`).
public final class MisbehavingServer {
    public let port: Int
    public let log: String
    private let process: BackgroundProcess

    public var url: String { "http://127.0.0.1:\(port)" }

    public init(file: String, interval: Double = 0.5) throws {
        log = TestEnvironment.temporaryDirectory("misbehaving") + "/requests.jsonl"
        process = try BackgroundProcess(
            "/usr/bin/python3",
            [
                TestEnvironment.repositoryRoot + "/fixtures/net/misbehaving-server.py", "--file", file, "--log", log,
                "--interval", "\(interval)",
            ])
        guard let port = Int(process.firstLine()) else {
            throw TestSupportError("misbehaving-server.py did not start")
        }
        self.port = port
    }

    public struct Request: Decodable, Sendable {
        public var path: String
        public var range: String?
    }

    /// The requests it received, in order.
    public func requests() throws -> [Request] {
        guard let text = try? String(contentsOfFile: log, encoding: .utf8) else { return [] }
        return try text.split(separator: "\n").map { try JSONDecoder().decode(Request.self, from: Data($0.utf8)) }
    }

    public func stop() { process.stop() }
    deinit { stop() }
}
