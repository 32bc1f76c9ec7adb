import Foundation

/// fixtures/net/ddi-responder.py: a scripted hawkBit DDI server on 127.0.0.1 for what goosebit
/// does not do (cancelAction, maintenance windows, skip/attempt, GatewayToken, Retry-After), with
/// its artifacts on a second port (the "CDN") and a JSON-lines log of every request.
public final class DDIResponder {
    public struct Request: Sendable {
        public var time: Double
        public var server: String
        public var method: String
        public var path: String
        public var authorization: String?
        public var status: Int
        /// When a delayed feedback was answered.
        public var answered: Double?
        /// The request body, re-encoded as JSON text (for `contains` checks).
        public var body: String
        public var json: [String: Any] {
            (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any] ?? [:]
        }
        /// `status.execution` of a feedback.
        public var execution: String? { (json["status"] as? [String: Any])?["execution"] as? String }
    }

    public let url: String
    public let cdnPort: Int
    public let directory: String
    private let process: BackgroundProcess

    public init(_ scenario: [String: Any]) throws {
        directory = TestEnvironment.temporaryDirectory("ddi")
        let scenarioPath = directory + "/scenario.json"
        try JSONSerialization.data(withJSONObject: scenario).write(to: URL(fileURLWithPath: scenarioPath))
        process = try BackgroundProcess(
            "/usr/bin/python3",
            [
                TestEnvironment.repositoryRoot + "/fixtures/net/ddi-responder.py", "--scenario", scenarioPath, "--log",
                directory + "/requests.jsonl",
            ])
        let line = process.firstLine()
        guard let info = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Int],
            let port = info["port"], let cdn = info["cdn_port"]
        else { throw TestSupportError("ddi-responder.py printed \(line)") }
        url = "http://127.0.0.1:\(port)"
        cdnPort = cdn
    }

    deinit { process.stop() }

    public func stop() { process.stop() }

    /// Merges `changes` into the scenario (an `action` object into the action).
    public func control(_ changes: [String: Any]) throws {
        let body = try JSONSerialization.data(withJSONObject: changes)
        let result = try TestEnvironment.run(
            "/usr/bin/curl",
            ["-sf", "-X", "POST", "--data-binary", String(decoding: body, as: UTF8.self), url + "/_control"])
        guard result.status == 0 else { throw TestSupportError("control failed: \(result.stderr)") }
    }

    /// Every request so far, in order.
    public func requests() throws -> [Request] {
        let text = (try? String(contentsOfFile: directory + "/requests.jsonl", encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap { line in
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                let server = object["server"] as? String, server != "control"
            else { return nil }
            let body =
                object["body"].flatMap { $0 is NSNull ? nil : $0 }.flatMap {
                    try? JSONSerialization.data(withJSONObject: $0, options: [.fragmentsAllowed, .sortedKeys])
                }.map { String(decoding: $0, as: UTF8.self) } ?? ""
            return Request(
                time: object["t"] as? Double ?? 0, server: server, method: object["method"] as? String ?? "",
                path: object["path"] as? String ?? "", authorization: object["authorization"] as? String,
                status: object["status"] as? Int ?? 0, answered: object["answered"] as? Double, body: body)
        }
    }
}
