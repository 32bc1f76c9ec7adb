import SystemPackage
import TwinslotCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The agent's part of the Prometheus textfile: is this device still talking to its server, and
/// what is it doing for it. A fleet alert is then a query (`time() -
/// twinslot_agent_last_successful_poll_timestamp_seconds > 3600`), not a log search.
public struct AgentMetrics: Codable, Sendable, Equatable {
    public var lastSuccessfulPoll: Double?
    public var consecutiveFailures: Int = 0
    public var actionID: String?
    /// downloading, installing (set when they start), downloaded (waiting for the window),
    /// waiting-for-boot; nil when the agent has no action.
    public var phase: String?

    enum CodingKeys: String, CodingKey {
        case lastSuccessfulPoll = "last_successful_poll"
        case consecutiveFailures = "consecutive_failures"
        case actionID = "action_id"
        case phase
    }

    public init() {}

    var lines: [String] {
        func escape(_ text: String) -> String {
            text.replacing("\\", with: "\\\\").replacing("\"", with: "\\\"").replacing("\n", with: "\\n")
        }
        var lines = [
            "# HELP twinslot_agent_last_successful_poll_timestamp_seconds When the agent last polled its DDI server successfully.",
            "# TYPE twinslot_agent_last_successful_poll_timestamp_seconds gauge",
            "twinslot_agent_last_successful_poll_timestamp_seconds \(fixedPoint(lastSuccessfulPoll ?? 0, digits: 3))",
            "# HELP twinslot_agent_consecutive_failures Poll cycles that failed in a row (0 after a good one).",
            "# TYPE twinslot_agent_consecutive_failures gauge",
            "twinslot_agent_consecutive_failures \(consecutiveFailures)",
            "# HELP twinslot_agent_action_info The server's action the agent works on, and its phase (value 1).",
            "# TYPE twinslot_agent_action_info gauge",
        ]
        if let actionID, let phase {
            lines.append("twinslot_agent_action_info{id=\"\(escape(actionID))\",phase=\"\(escape(phase))\"} 1")
        } else {
            lines.append("twinslot_agent_action_info{id=\"\",phase=\"idle\"} 1")
        }
        return lines
    }

    /// Leaves the samples for the reporter and rewrites the textfile. Best effort: metrics must
    /// never fail a poll cycle.
    func publish(_ device: Device) {
        let reporter = Reporter(device: device)
        try? device.storage.makeDirectory(device.dataDirectory)
        try? device.storage.replaceFile(
            reporter.agentMetricsPath, with: Array((lines.joined(separator: "\n") + "\n").utf8))
        try? reporter.refreshMetrics()
    }
}
