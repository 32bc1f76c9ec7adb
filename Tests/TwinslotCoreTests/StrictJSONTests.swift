import Testing

@testable import TwinslotCore

@Suite struct StrictJSONTests {
    func problem(_ text: String) -> String? {
        do {
            _ = try StrictJSON.parse(Array(text.utf8))
            return nil
        } catch {
            return error.message
        }
    }

    @Test func acceptsWhatRFC8259Allows() throws {
        let value = try StrictJSON.parse(Array(#"{"a":[1,-2.5e+3,true,null,"\u00e9\ud83d\ude00"],"b":{}}"#.utf8))
        #expect(value.names == ["a", "b"])
        #expect(value["a"] == .array([.number("1"), .number("-2.5e+3"), .bool(true), .null, .string("é😀")]))
    }

    @Test func refusesWhatReadersDisagreeOn() {
        #expect(problem(#"{"a":1,"a":2}"#) == "duplicate name 'a'")
        #expect(problem(#"{"a":1,"\u0061":2}"#) == "duplicate name 'a'")
        #expect(problem(#"{"x":{"a":1,"a":1}}"#) == "duplicate name 'a'")
        #expect(problem("\u{FEFF}{}") == "a byte order mark")
        #expect(problem("{} {}") == "data after the JSON value")
        #expect(problem(#"{"a":01}"#) != nil)
        #expect(problem(#"{"a":"\ud800"}"#) == "an unpaired surrogate")
        #expect(problem("{\"a\":\"\t\"}") == "a control character in a string")
        #expect(problem(#"{"a":1,}"#) != nil)
        #expect(problem("[1,2") != nil)
    }

    @Test func boundsNesting() {
        let deep = String(repeating: "[", count: 50_000) + String(repeating: "]", count: 50_000)
        #expect(problem(deep) == "nested deeper than 64 levels")
        let fine = String(repeating: "[", count: 64) + String(repeating: "]", count: 64)
        #expect(problem(fine) == nil)
    }
}
