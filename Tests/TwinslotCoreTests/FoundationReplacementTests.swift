import Foundation
import Testing

@testable import TwinslotCore

/// The small stand-ins for full Foundation (Support/, Subprocess) agree with what they replace.
@Suite struct FoundationReplacementTests {
    @Test(arguments: [0.0, 0.0004, 0.0015, 1.5, 2.25, 12.3456, 99.95, 1_764_288_000.123, -3.14159, 1e15])
    func fixedPointMatchesStringFormat(value: Double) {
        for digits in 0...3 {
            #expect(fixedPoint(value, digits: digits) == String(format: "%.\(digits)f", value), "\(value) \(digits)")
        }
    }

    @Test func iso8601MatchesFoundation() {
        let formatter = ISO8601DateFormatter()
        for seconds in [0, 951_782_400.75, 1_764_288_000, 4_102_444_799.999, -86_400.5] {
            let date = Date(timeIntervalSince1970: seconds)
            #expect(iso8601(date) == formatter.string(from: date), "\(seconds)")
        }
    }

    @Test func trimming() {
        #expect(" \t A B \r\n".trimmingWhitespace() == "A B")
        #expect("\n\n".trimmingWhitespace() == "")
        #expect("[::1]".trimming(where: { $0 == "[" || $0 == "]" }) == "::1")
    }

    @Test func subprocessKeepsStandardErrorApart() throws {
        let result = try Subprocess.run(
            ["/bin/sh", "-c", "echo out; echo err >&2; exit 3"], timeout: 10, separateErrors: true)
        #expect(result.status == 3)
        #expect(result.output == "out\n")
        #expect(result.errors == "err\n")
        let merged = try Subprocess.run(["/bin/sh", "-c", "echo out; echo err >&2"], timeout: 10)
        #expect(merged.output.contains("out") && merged.output.contains("err") && merged.errors.isEmpty)
    }

    @Test func subprocessWithoutPathSearchTakesTheNameLiterally() {
        // Process resolved a bare name against the working directory, never PATH; so does the
        // script backend.
        #expect(throws: SubprocessError.self) {
            try Subprocess.run(["sh", "-c", "true"], timeout: 10, searchPath: false)
        }
    }

    @Test func manifestTopLevelChecks() {
        for (text, expected) in [
            ("[1, 2]", "the top level must be a JSON object"),
            ("{\"format_version\": \"1\"}", "missing integer 'format_version'"),
            ("{\"format_version\": 1, \"zzz\": 0, \"extra\": 1}", "unknown key 'extra'"),
        ] {
            #expect(throws: BundleError.manifestInvalid(expected)) { try Manifest.decode(Array(text.utf8)) }
        }
        #expect(throws: BundleError.unsupportedFormatVersion(2)) {
            try Manifest.decode(Array("{\"format_version\": 2}".utf8))
        }
    }
}
