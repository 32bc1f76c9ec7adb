import ArgumentParser
import Foundation
import TwinslotCore

/// Runs a command body and turns an engine error into one line on stderr and its documented
/// exit code (docs/cli.md), so scripts can branch on the code and people can read the line.
func reportingFailures<T>(json: Bool = false, _ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let exit as ExitCode {
        throw exit
    } catch {
        let failureClass = (error as? any ClassifiedError)?.failureClass ?? .internalError
        let message = String(describing: error)
        if json {
            printJSON(
                ErrorReport(
                    error: ErrorReport.Body(
                        class: failureClass.rawValue, message: message, exitCode: failureClass.exitCode)))
        }
        FileHandle.standardError.write(Data("twinslot: error: \(message)\n".utf8))
        throw ExitCode(failureClass.exitCode)
    }
}

struct ErrorReport: Encodable {
    struct Body: Encodable {
        var `class`: String
        var message: String
        var exitCode: Int32

        enum CodingKeys: String, CodingKey {
            case `class`, message
            case exitCode = "exit_code"
        }
    }
    var error: Body
}

func printJSON(_ value: some Encodable) {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
    encoder.keyEncodingStrategy = .convertToSnakeCase
    encoder.dateEncodingStrategy = .iso8601
    let data = try! encoder.encode(value)
    print(String(decoding: data, as: UTF8.self))
}

/// Human-readable sizes: 1.5 MiB.
func formatBytes(_ bytes: UInt64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"]
    var value = Double(bytes)
    var unit = 0
    while value >= 1024 && unit < units.count - 1 {
        value /= 1024
        unit += 1
    }
    return unit == 0 ? "\(bytes) B" : String(format: "%.1f %@", value, units[unit])
}
