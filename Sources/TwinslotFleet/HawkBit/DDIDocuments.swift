/// The documents of hawkBit's Direct Device Integration API, as far as a device needs them.
/// Unknown fields and links are ignored: servers (hawkBit, goosebit) add their own.
public enum DDI {
    public struct Link: Codable, Sendable, Equatable {
        public var href: String
    }

    /// `GET {base}`: how long to sleep and what the server wants next.
    public struct ControllerBase: Decodable, Sendable {
        public struct Config: Decodable, Sendable {
            public struct Polling: Decodable, Sendable { public var sleep: String }
            public var polling: Polling
        }
        public struct Links: Decodable, Sendable {
            public var deploymentBase: Link?
            public var configData: Link?
            public var cancelAction: Link?
        }
        public var config: Config?
        public var links: Links?

        enum CodingKeys: String, CodingKey {
            case config
            case links = "_links"
        }

        /// The polling interval in seconds; "HH:MM:SS" per the DDI API, each field decimal digits
        /// only. Nil for anything else (the agent keeps its interval): a field read as a Double
        /// let "-01:00:00", "nan:00:00" or "1e309:00:00" through, a negative, NaN or infinite
        /// pause that trapped the agent's loop when it converted it to microseconds (found by
        /// fuzzing, docs/architecture.md "Fuzzing").
        public var sleepSeconds: Double? {
            guard let text = config?.polling.sleep else { return nil }
            let parts = text.split(separator: ":", omittingEmptySubsequences: false).map { field in
                field.utf8.count <= 9 && field.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 } ? UInt64(field) : nil
            }
            guard parts.count == 3, let h = parts[0], let m = parts[1], let s = parts[2] else { return nil }
            return Double(h * 3600 + m * 60 + s)
        }
    }

    /// `GET {deploymentBase}`: what to install.
    public struct DeploymentBase: Decodable, Sendable {
        public struct Deployment: Decodable, Sendable {
            /// `skip`, `attempt` or `forced` (DDI): whether to download, and whether to install.
            public var download: String?
            public var update: String?
            /// `available` or `unavailable` when the action has a maintenance window: outside
            /// it the device may download but must not install.
            public var maintenanceWindow: String?
            public var chunks: [Chunk]
        }
        public struct Chunk: Decodable, Sendable {
            public var part: String?
            public var version: String?
            public var name: String?
            public var artifacts: [Artifact]
        }
        public struct Artifact: Decodable, Sendable {
            public struct Links: Decodable, Sendable {
                public var download: Link?
                public var downloadHTTP: Link?
                enum CodingKeys: String, CodingKey {
                    case download
                    case downloadHTTP = "download-http"
                }
            }
            public var filename: String
            public var size: UInt64?
            public var hashes: [String: String]?
            public var links: Links?
            enum CodingKeys: String, CodingKey {
                case filename, size, hashes
                case links = "_links"
            }
            /// HTTPS first; `download-http` only when that is all there is.
            public var downloadURL: String? { links?.download?.href ?? links?.downloadHTTP?.href }
        }
        public var id: String
        public var deployment: Deployment

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            // hawkBit sends the id as a string; accept a number too.
            if let text = try? container.decode(String.self, forKey: .id) {
                id = text
            } else {
                id = String(try container.decode(Int.self, forKey: .id))
            }
            deployment = try container.decode(Deployment.self, forKey: .deployment)
        }
        enum CodingKeys: String, CodingKey { case id, deployment }
    }

    /// `GET {cancelAction}`: the server asks the device to stop action `stopId`.
    public struct CancelAction: Decodable, Sendable {
        public struct Body: Decodable, Sendable {
            public var stopId: String

            public init(from decoder: any Decoder) throws {
                let container = try decoder.container(keyedBy: CodingKeys.self)
                if let text = try? container.decode(String.self, forKey: .stopId) {
                    stopId = text
                } else {
                    stopId = String(try container.decode(Int.self, forKey: .stopId))
                }
            }
            enum CodingKeys: String, CodingKey { case stopId }
        }
        public var cancelAction: Body
    }

    /// `POST {deploymentBase}/feedback` (and `{cancelAction}/feedback`).
    public struct Feedback: Encodable, Sendable {
        public enum Execution: String, Encodable, Sendable {
            case proceeding, closed, canceled, scheduled, rejected, resumed, downloaded
        }
        public enum Finished: String, Encodable, Sendable {
            case none, success, failure
        }
        public struct Status: Encodable, Sendable {
            public struct Result: Encodable, Sendable {
                public struct Progress: Encodable, Sendable {
                    public var cnt: Int
                    public var of: Int
                }
                public var finished: Finished
                public var progress: Progress?
            }
            public var execution: Execution
            public var result: Result
            public var details: [String]
        }
        public var id: String
        public var status: Status

        public init(
            id: String, execution: Execution, finished: Finished, details: [String], progress: (Int, Int)? = nil
        ) {
            self.id = id
            status = Status(
                execution: execution,
                result: .init(finished: finished, progress: progress.map { .init(cnt: $0.0, of: $0.1) }),
                details: details)
        }
    }

    /// `PUT {configData}`: the device's attributes. Every key is sent every time (goosebit
    /// resets a missing hardware key to its default).
    public struct ConfigData: Encodable, Sendable {
        public var mode = "merge"
        public var data: [String: String]
    }
}
