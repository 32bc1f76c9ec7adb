import Testing

@testable import TwinslotCore

/// Every recursive parser stops at a fixed depth with an error naming the line: before the
/// limit, 50,000 nested levels overflowed the stack and killed the process.
@Suite("Parsers: nesting depth")
struct ParserDepthTests {
    func tomlError(_ text: String) -> ConfigError? {
        do {
            _ = try TOMLParser.parse(text, sourcePath: "system.toml")
            return nil
        } catch {
            return error as? ConfigError
        }
    }

    @Test func tomlArrays50000Deep() {
        let deep = "x = " + String(repeating: "[", count: 50_000) + String(repeating: "]", count: 50_000) + "\n"
        let error = tomlError("a = 1\n" + deep)
        #expect(error?.line == 2)
        #expect(error?.message == "arrays and inline tables nested deeper than 64 levels")
        #expect(error?.failureClass == .config)
    }

    @Test func tomlInlineTables50000Deep() {
        let deep = "x = " + String(repeating: "{ a = ", count: 50_000) + "1" + String(repeating: " }", count: 50_000)
        let error = tomlError(deep)
        #expect(error?.line == 1)
        #expect(error?.message == "arrays and inline tables nested deeper than 64 levels")
    }

    @Test func tomlDottedKeys50000Parts() {
        let key = Array(repeating: "a", count: 50_000).joined(separator: ".")
        #expect(tomlError("\(key) = 1")?.message == "a dotted key with more than 64 parts nests too deep")
        #expect(tomlError("[\(key)]\n")?.message == "a dotted key with more than 64 parts nests too deep")
    }

    @Test func tomlAtTheLimitParses() throws {
        let arrays = "x = " + String(repeating: "[", count: 64) + String(repeating: "]", count: 64)
        _ = try TOMLParser.parse(arrays)
        let key = Array(repeating: "a", count: 64).joined(separator: ".")
        _ = try TOMLParser.parse("\(key) = 1")
    }

    @Test func libconfig50000Deep() {
        let groups = String(repeating: "a = {", count: 50_000) + String(repeating: "};", count: 50_000)
        let lists = "a = " + String(repeating: "(", count: 50_000) + String(repeating: ")", count: 50_000) + ";"
        for deep in [groups, lists] {
            #expect(throws: LibConfigError(line: 2, message: "nesting deeper than 64 levels")) {
                try LibConfig.parse("x = 1;\n" + deep)
            }
        }
    }

    @Test func swDescription50000DeepIsABadBundle() {
        let deep = "software = " + String(repeating: "{ a = ", count: 50_000) + String(repeating: "};", count: 50_000)
        do {
            _ = try SwDescription.parse(Array(deep.utf8), board: nil, selection: .all)
            Issue.record("parsed")
        } catch {
            #expect((error as? any ClassifiedError)?.failureClass == .badBundle, "\(error)")
        }
    }
}
