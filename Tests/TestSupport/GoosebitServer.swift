import Foundation

/// A real hawkBit-compatible DDI server for integration tests: goosebit 0.2.12, run on
/// 127.0.0.1 by scripts/goosebit.py from the venv that scripts/setup.sh installs.
///
/// Each instance owns one server in its own directory (database, artifacts, `server.log`). The
/// server is stopped by its process group in `stop()` and, at the latest, in `deinit`. A
/// directory the instance made itself is removed on stop, unless `TWINSLOT_KEEP_GOOSEBIT` is set
/// in the environment (to read `server.log` after a failure).
public final class GoosebitServer {
    public static let venv = "/opt/twinslot-test/goosebit-venv"
    public static var python: String { venv + "/bin/python" }
    static var script: String { TestEnvironment.repositoryRoot + "/scripts/goosebit.py" }

    /// Whether the goosebit venv is installed. Tests must not skip when it is not: `init` throws,
    /// and the message says to run scripts/setup.sh.
    public static var isAvailable: Bool {
        FileManager.default.isExecutableFile(atPath: python)
            && FileManager.default.isExecutableFile(atPath: venv + "/bin/uvicorn")
            && FileManager.default.isExecutableFile(atPath: venv + "/bin/aerich")
    }

    /// The server's base URL, `http://127.0.0.1:PORT`.
    public let url: String
    /// The process-group leader (uvicorn).
    public let pid: Int32
    /// Where the server keeps its settings, database, artifacts and `server.log`.
    public let directory: String
    /// The DDI tenant goosebit is configured with.
    public let tenant = "DEFAULT"
    private var stopped = false
    private let ownsDirectory: Bool

    /// Starts a server. `deviceAuthMode` is nil (anonymous DDI) or `lax`, `strict`, `setup`;
    /// `pollTime` is the polling sleep the server hands out after registration.
    public init(
        directory: String? = nil, port: Int = 0, deviceAuthMode: String? = nil, pollTime: String = "00:00:01"
    ) throws {
        guard Self.isAvailable else {
            throw TestSupportError("goosebit is not installed in \(Self.venv): run scripts/setup.sh")
        }
        ownsDirectory = directory == nil
        let directory = directory ?? TestEnvironment.temporaryDirectory("goosebit")
        var arguments = ["start", "--dir", directory, "--port", "\(port)", "--poll-time", pollTime]
        if let deviceAuthMode { arguments += ["--device-auth-mode", deviceAuthMode] }
        let output = try Self.tool(arguments)
        guard let info = try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any],
            let url = info["url"] as? String, let pid = info["pid"] as? Int
        else { throw TestSupportError("goosebit.py start printed \(output)") }
        self.url = url
        self.pid = Int32(pid)
        self.directory = directory
    }

    deinit { try? stop() }

    /// Stops the server (its whole process group) and waits for it to exit. Idempotent.
    public func stop() throws {
        guard !stopped else { return }
        try Self.tool(["stop", "--dir", directory])
        stopped = true
        if ownsDirectory && ProcessInfo.processInfo.environment["TWINSLOT_KEEP_GOOSEBIT"] == nil {
            try? FileManager.default.removeItem(atPath: directory)
        }
    }

    /// The DDI base URL of one device: `{url}/{tenant}/controller/v1/{id}`.
    public func ddiBase(device: String) -> String { "\(url)/\(tenant)/controller/v1/\(device)" }

    /// Uploads a .swu (or RAUC bundle) and returns goosebit's software id.
    public func upload(path: String) throws -> Int {
        let output = try tool(["upload", path])
        guard let reply = try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any],
            let id = reply["id"] as? Int
        else { throw TestSupportError("goosebit.py upload printed \(output)") }
        return id
    }

    /// Assigns software to a device that has already polled (registered).
    public func assign(device: String, software: Int) throws {
        try tool(["assign", "--device", device, "--software", String(software)])
    }

    /// Sets the device's update mode to `latest` or `rollout` instead of one software id.
    public func assign(device: String, mode: String) throws {
        try tool(["assign", "--device", device, "--software", mode])
    }

    /// The device as the management API shows it.
    public func device(_ id: String) throws -> Device {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(Device.self, from: Data(try tool(["device", "--device", id]).utf8))
    }

    /// The device as raw JSON, for fields `Device` does not name.
    public func deviceJSON(_ id: String) throws -> [String: Any] {
        let output = try tool(["device", "--device", id])
        guard let object = try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any] else {
            throw TestSupportError("goosebit.py device printed \(output)")
        }
        return object
    }

    /// The device log: the `details` of its feedback since the current deployment started.
    public func log(device: String) throws -> String { try tool(["log", "--device", device]) }

    /// Provisions a device's TargetToken (creates the device when needed; for strict mode).
    public func setToken(device: String, token: String) throws {
        try tool(["set-token", "--device", device, "--token", token])
    }

    /// The contents of the server's log, for failure messages.
    public var serverLog: String {
        (try? String(contentsOfFile: directory + "/server.log", encoding: .utf8)) ?? ""
    }

    @discardableResult
    private func tool(_ arguments: [String]) throws -> String {
        guard !stopped else { throw TestSupportError("goosebit server in \(directory) is stopped") }
        return try Self.tool([arguments[0], "--dir", directory] + arguments.dropFirst())
    }

    @discardableResult
    private static func tool(_ arguments: [String]) throws -> String {
        let result = try TestEnvironment.run(python, [script] + arguments)
        guard result.status == 0 else {
            throw TestSupportError("goosebit.py \(arguments.joined(separator: " ")) failed: \(result.stderr)")
        }
        return result.stdout
    }

    /// A device as `GET /api/v1/devices` describes it (decoded from snake_case).
    public struct Device: Decodable, Sendable {
        public struct Hardware: Decodable, Sendable {
            public var model: String
            public var revision: String
        }
        public struct Software: Decodable, Sendable {
            public var id: Int
            public var version: String
            public var size: Int
            public var hash: String
            public var name: String?
            public var compatibility: [Hardware]
        }
        public var id: String
        public var name: String?
        public var swVersion: String?
        /// Unknown, Registered, Running, Finished or Error.
        public var lastState: String
        /// Assigned, Latest, Pinned or Rollout.
        public var updateMode: String
        public var progress: Int?
        public var forceUpdate: Bool
        public var hardware: Hardware?
        public var assignedSoftware: Software?
        public var authToken: String?
        public var pollSeconds: Int?
    }
}
