import Foundation
import Testing

@testable import TwinslotCore

/// The engine's worker threads (pipeline sink, read-back, tar check) are joined by their owners,
/// so none is still running, or holding what it captured, after the call that started it
/// returned. The fuzzer found the tar-check thread of a failed `bundle verify` stream still
/// walking (and holding its 256 KiB buffers) after the input had returned: LeakSanitizer
/// reported them (fixtures/fuzz/bundle/regression-leak-tar-check-thread).
struct JoinableThreadTests {
    final class Token: Sendable {}

    @Test func joinReturnsAfterTheBodyReleasedWhatItCaptured() {
        weak var captured: Token?
        do {
            let token = Token()
            captured = token
            let thread = JoinableThread(name: "test-join") { [token] in
                usleep(50_000)
                withExtendedLifetime(token) {}
            }
            thread.join()
        }
        #expect(captured == nil, "the thread still held its capture after join()")
    }

    @Test func joiningTwiceIsHarmless() {
        let thread = JoinableThread(name: "test-join") {}
        thread.join()
        thread.join()
    }

    /// A stream that fails before `finish` (the pipeline's producer saw a bad hash or size) drops
    /// the sink: its deinit ends the walk and waits for it, the ring of buffers included.
    @Test func aTarCheckSinkDroppedMidStreamDoesNotHang() throws {
        var header = [UInt8](repeating: 0, count: 512)
        let name = Array("big.bin".utf8)
        header.replaceSubrange(0..<name.count, with: name)
        let size = Array(String(1 << 20, radix: 8).utf8)
        header.replaceSubrange(124..<(124 + size.count), with: size)
        header[156] = UInt8(ascii: "0")
        for _ in 0..<20 {
            let sink = ImageTarCheckSink(member: "apps.tar")
            try header.withUnsafeBytes { try sink.write($0, at: 0) }
        }
    }
}
