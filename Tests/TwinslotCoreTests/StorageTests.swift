import Testing

@testable import TwinslotCore

@Test func placeholder() {}
