import Testing

@testable import TwinslotFleet

/// A URL scheme is case-insensitive (RFC 3986, 3.1): the CLI must not take `Https://…` for a file.
@Suite struct URLSchemeTests {
    @Test(arguments: ["http://h/x", "https://h/x", "HTTP://h/x", "Https://h/x", "hTtPs://[::1]:8443/b.tsb"])
    func httpURLsInAnyCase(_ text: String) {
        #expect(HTTPByteSource.isHTTPURL(text))
    }

    @Test(arguments: [
        "/srv/http://x", "httpx://h/x", "http:/h/x", "file:///etc/passwd", "gopher://h/", "bundle.tsb", "",
    ])
    func notHTTPURLs(_ text: String) {
        #expect(!HTTPByteSource.isHTTPURL(text))
    }
}
