import FoundationEssentials
import TestSupport
import Testing

@testable import TwinslotCore

/// Where libconfig 1.5 (what SWUpdate parses sw-description with, and now twinslot too) and the
/// hand-written parser twinslot had before disagreed, and what twinslot does now: libconfig's
/// reading, or a refusal where libconfig would read something other than what the text says.
@Suite struct LibConfigDifferencesTests {
    func problem(_ text: String) -> LibConfigError? {
        do {
            _ = try LibConfig.parse(text)
            return nil
        } catch {
            return error as? LibConfigError
        }
    }

    /// The old parser refused both; libconfig keeps an unknown escape as written and lets a
    /// string run over lines.
    @Test func unknownEscapesAndMultiLineStringsReadAsLibconfigReadsThem() throws {
        let root = try LibConfig.parse("a = \"\\q\";\nb = \"one\ntwo\";\nc = 1;")
        #expect(root["a"]?.stringValue == "\\q")
        #expect(root["b"]?.stringValue == "one\ntwo")
        #expect(root["c"]?.line == 4)
    }

    /// The old parser accepted ints and floats in one array and a signed hex number.
    @Test func mixedArraysAndSignedHexAreRefused() {
        #expect(problem("a = [ 1, 2.5 ];")?.message.contains("mismatched element type in array") == true)
        #expect(problem("a = -0x10;")?.message.contains("syntax error") == true)
    }

    /// 64-bit integers need `L`: libconfig 1.5 wraps a wider decimal into 32 bits and truncates
    /// hex, so the gate refuses those instead of reading another number than the one signed.
    @Test func integersOutside32BitsNeedTheLSuffix() throws {
        let root = try LibConfig.parse(
            "a = 3000000000L; b = 0x100000000L; c = 0x7FFFFFFF; d = -2147483648; e = 9223372036854775807LL;")
        #expect(root["a"]?.integerValue == 3_000_000_000)
        #expect(root["b"]?.integerValue == 0x1_0000_0000)
        #expect(root["c"]?.integerValue == 0x7FFF_FFFF)
        #expect(root["d"]?.integerValue == -2_147_483_648)
        #expect(root["e"]?.integerValue == Int64.max)
        for text in ["a = 3000000000;", "a = -2147483649;", "a = 0x80000000;", "a = 0x100000000;"] {
            let error = problem("x = 1;\n" + text)
            #expect(error?.line == 2, "\(text)")
            #expect(
                error?.message.contains("out of range of a 32-bit int") == true, "\(text): \(String(describing: error))"
            )
        }
        #expect(problem("a = 0xFFFFFFFFFFFFFFFFL;")?.message.contains("out of range") == true)
        #expect(problem("a = 9223372036854775808L;")?.message.contains("out of range") == true)
    }

    /// libconfig 1.5 opens the file an `@include` names (at the start of a line, indented or not,
    /// inside a group too); the gate refuses every `@` outside strings and comments before
    /// libconfig sees it, so a signed sw-description never reads the device's files.
    @Test func includeIsRefusedBeforeLibconfigOpensTheFile() throws {
        let directory = TestEnvironment.temporaryDirectory("libconfig-include")
        let included = directory + "/included.cfg"
        try "x = 42;\n".write(toFile: included, atomically: true, encoding: .utf8)
        for text in [
            "@include \"\(included)\"\n", "a = 1;\n  @include \"\(included)\"\n", "g = {\n@include \"\(included)\"\n};",
        ] {
            let error = problem(text)
            #expect(error?.message.contains("@include") == true, "\(text): \(String(describing: error))")
        }
        // In a string or a comment it is text, as libconfig reads it.
        let root = try LibConfig.parse("a = \"@include \\\"\(included)\\\"\";\n# @include \"\(included)\"\n")
        #expect(root["a"]?.stringValue == "@include \"\(included)\"")
        #expect(root["x"] == nil)
    }

    /// `config_read_string` stops at a NUL byte: what follows it would be signed but never read.
    @Test func aNulByteIsRefused() {
        #expect(throws: LibConfigError(line: 2, message: "a NUL byte (libconfig would stop reading there)")) {
            try LibConfig.parse(Array("a = 1;\nb = 2;\0 c = 3;".utf8))
        }
    }

    @Test func aFloatBeyondDoubleIsRefused() {
        #expect(problem("a = 1e999;")?.message.contains("float out of range") == true)
    }

    /// A setting's line is its name's, as libconfig records it (the old parser took the value's).
    @Test func aSettingsLineIsItsNames() throws {
        let root = try LibConfig.parse("software =\n{\n  images = (\n    { filename = \"a\"; }\n  );\n};")
        #expect(root["software"]?.line == 1)
        #expect(root["software"]?["images"]?.line == 3)
        #expect(root["software"]?["images"]?.elements?.first?.line == 4)
    }
}
