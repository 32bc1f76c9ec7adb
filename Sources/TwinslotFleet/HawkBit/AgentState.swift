import SystemPackage
import TwinslotCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// What the agent must remember across a reboot: the server's action it installed, so that
/// after the boot service committed or rolled back it can close that action with the result.
/// Kept in `<data>/agent.json`, replaced whole and durably.
public struct AgentState: Codable, Sendable, Equatable {
    public struct PendingAction: Codable, Sendable, Equatable {
        public var actionID: String
        public var deploymentHref: String
        public var version: String?
        /// The journal's operation id of the install.
        public var operationID: String

        enum CodingKeys: String, CodingKey {
            case actionID = "action_id"
            case deploymentHref = "deployment_href"
            case version
            case operationID = "operation_id"
        }
    }

    /// An action downloaded and waiting for the server to allow the install (`update: skip`
    /// or `maintenanceWindow: unavailable`): the bundle is in `path`, its hashes checked.
    public struct DownloadedAction: Codable, Sendable, Equatable {
        public var actionID: String
        public var path: String
        public var version: String?

        enum CodingKeys: String, CodingKey {
            case actionID = "action_id"
            case path, version
        }
    }

    public var pending: PendingAction?
    public var downloaded: DownloadedAction?
    /// The attributes last sent as configData, to send again when they change.
    public var configSent: [String: String]?
    /// What the Prometheus textfile says about the agent; kept here so that `--once` runs add up.
    public var metrics: AgentMetrics?

    public init() {}

    enum CodingKeys: String, CodingKey {
        case pending, downloaded, metrics
        case configSent = "config_sent"
    }

    static func path(_ device: Device) -> FilePath { device.dataDirectory.appending("agent.json") }

    public static func load(_ device: Device) -> AgentState {
        guard let bytes = try? device.storage.readFile(path(device)) else { return AgentState() }
        return (try? JSONDecoder().decode(AgentState.self, from: Data(bytes))) ?? AgentState()
    }

    func save(_ device: Device) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        try device.storage.makeDirectory(device.dataDirectory)
        try device.storage.replaceFile(Self.path(device), with: Array(try encoder.encode(self)) + [0x0a])
    }
}
