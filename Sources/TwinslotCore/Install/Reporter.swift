import SystemPackage

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// A machine-readable account of one operation, kept in `<data>/reports/`.
public struct OperationReport: Sendable, Codable {
    public struct Phase: Sendable, Codable {
        public var name: String
        public var started: Date
        public var seconds: Double
    }

    public var kind: String
    public var outcome: String
    public var operationID: String?
    public var version: String?
    public var bundleHash: String?
    public var target: SlotLetter?
    public var booted: SlotLetter?
    public var phases: [Phase] = []
    public var slots: [InstallOutcome.Step] = []
    public var health: [HealthCheckResult] = []
    public var bytes: UInt64 = 0
    public var error: String?
    public var started: Date
    public var finished: Date?

    /// Reports are written with `convertToSnakeCase` and read with `convertFromSnakeCase`, which
    /// turns `operation_id` into `operationId`: without these names `operationID` decodes as nil
    /// and nothing (the agent's closing feedback) can find a report by its operation.
    enum CodingKeys: String, CodingKey {
        case kind, outcome, version, bundleHash, target, booted, phases, slots, health, bytes, error, started, finished
        case operationID = "operationId"
    }

    public init(kind: String, outcome: String = "running", started: Date = Date()) {
        self.kind = kind
        self.outcome = outcome
        self.started = started
    }

    /// Times `body` as a named phase.
    public mutating func phase<T>(_ name: String, _ body: () throws -> T) rethrows -> T {
        let start = Date()
        defer { phases.append(Phase(name: name, started: start, seconds: Date().timeIntervalSince(start))) }
        return try body()
    }
}

/// The hook points an orchestrator can attach to (docs/operations.md).
public enum HookPoint: String, Sendable, CaseIterable {
    case preInstall = "pre-install"
    case postInstall = "post-install"
    case preReboot = "pre-reboot"
    case committed
    case rolledBack = "rolled-back"
}

public struct HookError: ClassifiedError {
    public var point: HookPoint
    public var hook: String
    public var detail: String
    public var failureClass: FailureClass { .state }
    public var description: String { "\(point.rawValue) hook \(hook) failed (\(detail)); nothing was installed" }
}

/// Tells the world what twinslot did: report files, hooks, and the Prometheus textfile.
/// Reporting never changes the outcome of an operation, except a failing pre-install hook under
/// `hook-failure = "abort"`, which refuses the install before anything is written.
public struct Reporter {
    public let device: Device

    public init(device: Device) { self.device = device }

    var reportsDirectory: FilePath { device.dataDirectory.appending("reports") }

    /// Writes the report (replacing a file whole), keeps the newest `reports-kept`, refreshes the
    /// metrics. Returns the report's path. Failures here are swallowed by callers: a full disk
    /// must not turn a committed update into a failed one.
    @discardableResult
    public func record(_ report: OperationReport) throws -> String {
        var report = report
        if report.finished == nil { report.finished = Date() }
        let storage = device.storage
        try storage.makeDirectory(reportsDirectory)
        let stamp = Int((report.started.timeIntervalSince1970 * 1000).rounded())
        let name = "\(stamp)-\(report.kind).json"
        let path = reportsDirectory.appending(name)
        try storage.replaceFile(path, with: Array(try Self.encoder.encode(report)) + [0x0a])
        let all = try reportNames()
        for old in all.dropLast(device.config.reporting.reportsKept) {
            try storage.remove(reportsDirectory.appending(old))
        }
        try writeMetrics(last: report)
        return path.string
    }

    /// Where the hawkBit agent leaves its own samples (last successful poll, failures in a row,
    /// the current action) for every rewrite of the textfile to include: two processes write
    /// the one textfile, and each rewrite must carry both parts.
    public var agentMetricsPath: FilePath { device.dataDirectory.appending("agent.prom") }

    /// Rewrites the textfile from the journal, the newest report and the agent's samples.
    public func refreshMetrics() throws { try writeMetrics(last: reports().last) }

    static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.dateEncodingStrategy = .iso8601UTC
        return encoder
    }

    func reportNames() throws -> [String] {
        guard device.storage.fileKind(reportsDirectory) == .directory else { return [] }
        return try device.storage.directoryEntries(reportsDirectory).filter { $0.hasSuffix(".json") }.sorted()
    }

    /// The kept reports, oldest first: how operations ended, with their health details.
    public func reports() -> [OperationReport] {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        decoder.dateDecodingStrategy = .iso8601
        return ((try? reportNames()) ?? []).compactMap { name in
            guard let bytes = try? device.storage.readFile(reportsDirectory.appending(name)) else { return nil }
            return try? decoder.decode(OperationReport.self, from: Data(bytes))
        }
    }

    /// The newest report's JSON, for `status`.
    public func lastReport() -> String? {
        guard let name = try? reportNames().last,
            let bytes = try? device.storage.readFile(reportsDirectory.appending(name))
        else { return nil }
        return String(decoding: bytes, as: UTF8.self)
    }

    public var metricsPath: String {
        device.config.reporting.metricsTextfile ?? device.dataDirectory.appending("twinslot.prom").string
    }

    /// node_exporter's textfile collector convention: write a temporary file, rename it over.
    func writeMetrics(last: OperationReport?) throws {
        let (state, _) = try Journal.readState(storage: device.storage, directory: device.dataDirectory)
        var lines: [String] = []
        func metric(_ name: String, _ help: String, _ type: String, _ samples: [(String, String)]) {
            lines.append("# HELP twinslot_\(name) \(help)")
            lines.append("# TYPE twinslot_\(name) \(type)")
            for (labels, value) in samples { lines.append("twinslot_\(name)\(labels) \(value)") }
        }
        func escape(_ text: String) -> String {
            var escaped = ""
            for scalar in text.unicodeScalars {
                switch scalar {
                case "\\": escaped += "\\\\"
                case "\"": escaped += "\\\""
                case "\n": escaped += "\\n"
                default: escaped.unicodeScalars.append(scalar)
                }
            }
            return escaped
        }
        let counters = state.counters
        metric(
            "updates_total", "Update operations by result.", "counter",
            [
                ("{result=\"started\"}", "\(counters.installs)"), ("{result=\"committed\"}", "\(counters.commits)"),
                ("{result=\"rolled_back\"}", "\(counters.rollbacks)"), ("{result=\"failed\"}", "\(counters.failures)"),
            ])
        if let last {
            metric(
                "last_operation_timestamp_seconds", "When the last operation ended, by kind and outcome.", "gauge",
                [
                    (
                        "{kind=\"\(escape(last.kind))\",outcome=\"\(escape(last.outcome))\"}",
                        fixedPoint((last.finished ?? Date()).timeIntervalSince1970, digits: 3)
                    )
                ])
        }
        if let primary = state.primary {
            let group = state.group(primary)
            metric(
                "slot_version_info", "The committed bundle version of each slot class (value 1).", "gauge",
                device.config.slotClasses.map {
                    (
                        "{slot_class=\"\(escape($0.name))\",group=\"\(primary.rawValue)\",version=\"\(escape(group.version ?? "unknown"))\"}",
                        "1"
                    )
                })
        }
        metric(
            "installed_security_version", "The anti-rollback floor.", "gauge",
            [("", "\(state.installedSecurityVersion)")])
        if let last, last.kind == "install" {
            metric(
                "last_install_duration_seconds", "Wall time of the last install.", "gauge",
                [("", fixedPoint((last.finished ?? Date()).timeIntervalSince(last.started), digits: 3))])
            metric("last_install_bytes", "Image bytes written by the last install.", "gauge", [("", "\(last.bytes)")])
        }
        if let booted = last?.booted {
            metric(
                "booted_group_info", "The slot group running now (value 1).", "gauge",
                [("{group=\"\(booted.rawValue)\"}", "1")])
        }
        if let agent = try? device.storage.readFile(agentMetricsPath) {
            lines += String(decoding: agent, as: UTF8.self).split(separator: "\n").map(String.init)
        }
        let path = FilePath(metricsPath)
        try device.storage.makeDirectory(path.removingLastComponent())
        try device.storage.replaceFile(path, with: Array((lines.joined(separator: "\n") + "\n").utf8))
    }

    /// Runs every executable of the hooks directory for `point`, in name order. With
    /// `hook-failure = "abort"` the first failure throws; otherwise failures are only returned.
    @discardableResult
    public func runHooks(_ point: HookPoint, environment: [String: String]) throws -> [String] {
        let directory = device.config.reporting.hooksDirectory
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return [] }
        var failures: [String] = []
        for name in names.sorted() where !name.hasPrefix(".") {
            let path = directory + "/" + name
            guard FileManager.default.isExecutableFile(atPath: path) else { continue }
            var env = environment
            env["TWINSLOT_HOOK"] = point.rawValue
            env["TWINSLOT_CONFIG"] = device.config.sourcePath ?? ""
            env["TWINSLOT_DATA_DIRECTORY"] = device.config.dataDirectory
            let detail: String
            do {
                let result = try Subprocess.run([path, point.rawValue], environment: env, timeout: 60)
                if result.succeeded { continue }
                detail = result.summary
            } catch {
                detail = "\(error)"
            }
            failures.append("\(name): \(detail)")
            if device.config.reporting.hookFailure == .abort {
                throw HookError(point: point, hook: path, detail: detail)
            }
        }
        return failures
    }

    /// Before the reboot a rollback asks for: the pre-reboot hooks, then the configured command.
    public func reboot(environment: [String: String]) throws {
        _ = try? runHooks(.preReboot, environment: environment)
        let command = device.config.bootloader.rebootCommand
        guard !command.isEmpty else { return }
        let result = try Subprocess.run(command, timeout: 120)
        guard result.succeeded else {
            throw SubprocessError(message: "the reboot command \(command.joined(separator: " ")) \(result.summary)")
        }
    }
}
