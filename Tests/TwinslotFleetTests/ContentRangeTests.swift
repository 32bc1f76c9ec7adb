import Testing

@testable import TwinslotFleet

@Suite struct ContentRangeTests {
    @Test func parsesARangeWithItsTotal() throws {
        let parsed = try #require(HTTPByteSource.parseContentRange("bytes 100-199/1000"))
        #expect(parsed.first == 100 && parsed.total == 1000)
    }

    @Test func anUnknownTotalIsNil() throws {
        let parsed = try #require(HTTPByteSource.parseContentRange("bytes 5-9/*"))
        #expect(parsed.first == 5 && parsed.total == nil)
    }

    @Test func refusesOtherUnits() {
        #expect(HTTPByteSource.parseContentRange("items 1-2/3") == nil)
        #expect(HTTPByteSource.parseContentRange("bytes */1000") == nil)
    }

    @Test func redactsCredentialsAndQueries() {
        #expect(HTTPByteSource.redacted("https://u:p@host/a/b?token=x") == "https://host/a/b")
        #expect(HTTPByteSource.redacted("http://127.0.0.1:8080/x.bundle") == "http://127.0.0.1:8080/x.bundle")
    }

    @Test func weakETagsAreNotValidators() {
        #expect(HTTPByteSource.validator(from: ["etag": "W/\"abc\"", "last-modified": "Mon"]) == "Mon")
        #expect(HTTPByteSource.validator(from: ["etag": "\"abc\""]) == "\"abc\"")
    }
}
