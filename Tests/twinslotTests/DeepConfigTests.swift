import Foundation
import Testing

/// A system.toml nested 50,000 levels deep is a configuration error (17) naming the line, not a
/// stack overflow (before the depth limit: SIGSEGV, exit 139).
@Suite struct DeepConfigTests {
    @Test func aDeepSystemTomlIsAConfigurationError() throws {
        let root = CLI.temporaryDirectory("deep-config")
        let config = root + "/system.toml"
        let deep = "# broken\nx = " + String(repeating: "[", count: 50_000) + String(repeating: "]", count: 50_000)
        try (deep + "\n").write(toFile: config, atomically: true, encoding: .utf8)
        let result = try CLI.twinslot("status", "--config", config)
        #expect(result.status == 17, "\(result.stderr)")
        #expect(result.stderr.contains("line 2: arrays and inline tables nested deeper than 64 levels"))
    }
}
