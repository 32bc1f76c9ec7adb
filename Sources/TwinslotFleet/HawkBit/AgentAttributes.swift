import SystemPackage
import TwinslotCore

/// The configData attributes an operator defines for a device, besides the three the agent
/// always sends (`hw_boardname`, `hw_revision`, `sw_version`): a serial number, a site, the
/// modem's firmware… They let a server group and target devices (hawkBit target filters on
/// `attribute.site == "plant-3"`). Read at every cycle and sent when they change.
///
/// Both sources give `key=value` lines (blank lines and `#` comments ignored; the key is
/// trimmed, the value is everything after the first `=`, trimmed): a file, or the standard
/// output of a command run without a shell (10 s at most).
public enum AgentAttributes: Sendable, Equatable {
    case none
    case file(String)
    case command([String])

    /// The operator's attributes. A source that cannot be read is an error of the cycle (the
    /// agent logs it and retries): sending a partial set would make the server forget keys.
    public func read() throws -> [String: String] {
        let text: String
        switch self {
        case .none: return [:]
        case .file(let path):
            guard let bytes = try? PosixStorage().readFile(FilePath(path)) else {
                throw FleetError.invalidRequest("cannot read the attributes file \(path)")
            }
            text = String(decoding: bytes, as: UTF8.self)
        case .command(let command):
            let result = try Subprocess.run(command, timeout: 10)
            guard result.succeeded else {
                throw FleetError.invalidRequest(
                    "the attributes command \(command.joined(separator: " ")) \(result.summary)")
            }
            text = result.output
        }
        return try Self.parse(text)
    }

    static func parse(_ text: String) throws -> [String: String] {
        var attributes: [String: String] = [:]
        for raw in text.split(separator: "\n", omittingEmptySubsequences: true) {
            let line = raw.trimmingWhitespace()
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard let equals = line.firstIndex(of: "="),
                case let key = line[..<equals].trimmingWhitespace(), !key.isEmpty
            else { throw FleetError.invalidRequest("attribute line is not key=value: \(line)") }
            attributes[key] = line[line.index(after: equals)...].trimmingWhitespace()
        }
        return attributes
    }
}
