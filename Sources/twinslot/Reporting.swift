import ArgumentParser
import Logging
import Synchronization
import TwinslotCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Runs a command body and turns an engine error into one line on stderr and its documented
/// exit code (docs/cli.md), so scripts can branch on the code and people can read the line.
func reportingFailures<T>(json: Bool = false, _ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let exit as ExitCode {
        throw exit
    } catch let invalid as ValidationError {
        // A wrong argument found while running (an option that does not fit this device) is a
        // usage error (64), as ArgumentParser makes it before run(), not "a bug" (1).
        return try reportingFailures(json: json) { throw CommandFailure(.usage, invalid.message) }
    } catch {
        let failureClass = (error as? any ClassifiedError)?.failureClass ?? .internalError
        let message = String(describing: error)
        if json {
            printJSONLine(
                ErrorReport(
                    error: ErrorReport.Body(
                        class: failureClass.rawValue, message: message, exitCode: failureClass.exitCode)))
        }
        if Log.destination == .journal {
            // Under systemd the structured entry is the error line (stderr is the journal).
            Log.logger.error(
                "\(message)",
                metadata: [
                    "phase": "error", "failure-class": "\(failureClass.rawValue)",
                    "exit-code": "\(failureClass.exitCode)",
                ])
        } else {
            writeUnbuffered("twinslot: error: \(message)\n", to: STDERR_FILENO)
        }
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

func jsonText(_ value: some Encodable) -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
    encoder.keyEncodingStrategy = .convertToSnakeCase
    encoder.dateEncodingStrategy = .iso8601UTC
    return String(decoding: try! encoder.encode(value), as: UTF8.self)
}

func printJSON(_ value: some Encodable) {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
    encoder.keyEncodingStrategy = .convertToSnakeCase
    encoder.dateEncodingStrategy = .iso8601UTC
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
    return unit == 0 ? "\(bytes) B" : "\(fixedPoint(value, digits: 1)) \(units[unit])"
}

/// `text` padded with spaces on the right to `width` characters (never cut).
func padRight(_ text: String, _ width: Int) -> String {
    text + String(repeating: " ", count: max(0, width - text.count))
}

/// `text` padded with spaces on the left to `width` characters (never cut).
func padLeft(_ text: String, _ width: Int) -> String {
    String(repeating: " ", count: max(0, width - text.count)) + text
}

/// Writes `text` straight to a file descriptor, past `print`'s buffer (as FileHandle does).
func writeUnbuffered(_ text: String, to descriptor: Int32) {
    var bytes = Array(text.utf8)[...]
    while !bytes.isEmpty {
        let written = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        if written < 0 && errno == EINTR { continue }
        guard written > 0 else { return }
        bytes = bytes.dropFirst(written)
    }
}

/// One JSON object on one line (JSON Lines), for streams orchestrators read line by line.
func printJSONLine(_ value: some Encodable) {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    encoder.keyEncodingStrategy = .convertToSnakeCase
    encoder.dateEncodingStrategy = .iso8601UTC
    let data = try! encoder.encode(value)
    writeUnbuffered(String(decoding: data, as: UTF8.self) + "\n", to: STDOUT_FILENO)
}

/// How install progress is shown: a bar on a terminal (stderr), JSON lines with --json, nothing
/// otherwise.
enum ProgressDisplay {
    struct Event: Encodable {
        var event = "progress"
        var slotClass: String
        var bytes: UInt64
        var total: UInt64
    }

    static func choose(json: Bool, quiet: Bool) -> (@Sendable (Installer.Progress) -> Void)? {
        if json {
            return { progress in
                printJSONLine(Event(slotClass: progress.slotClass, bytes: progress.bytes, total: progress.total))
            }
        }
        guard !quiet, isatty(STDOUT_FILENO) == 1, isatty(STDERR_FILENO) == 1 else { return nil }
        let bar = Mutex(ProgressBar())
        return { progress in
            let columns = terminalColumns(STDERR_FILENO)
            if let text = bar.withLock({ $0.render(progress, now: Date(), columns: columns) }) {
                writeUnbuffered(text, to: STDERR_FILENO)
            }
        }
    }
}

/// The terminal's width (TIOCGWINSZ), else `$COLUMNS`, else 80.
func terminalColumns(_ descriptor: Int32) -> Int {
    var size = winsize()
    if ioctl(descriptor, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 { return Int(size.ws_col) }
    if let columns = getenv("COLUMNS").flatMap({ Int(String(cString: $0)) }), columns > 0 { return columns }
    return 80
}

/// A refusal decided by a command itself (not by the engine), with the class that picks its exit code.
struct CommandFailure: ClassifiedError {
    let failureClass: FailureClass
    let description: String

    init(_ failureClass: FailureClass, _ description: String) {
        self.failureClass = failureClass
        self.description = description
    }
}
