import Testing

@testable import TwinslotService

/// The Progress signal's rate limit, on the real OperationState the service uses: an install
/// reports every block it writes; the bus sees a signal per phase and at most one per
/// `signalInterval` for the percentage alone.
@Suite struct DBusProgressTests {
    func progressEvents(_ state: OperationState) -> [(percent: Int32, phase: String)] {
        state.drain().compactMap { event in
            if case .progress(let progress, let phase) = event { return (progress.percent, phase) }
            return nil
        }
    }

    @Test func blocksWrittenInABurstGiveOneSignalNotOnePerBlock() {
        let state = OperationState()
        #expect(state.begin(operationID: "op", caller: ":1.1") == nil)
        state.setPhase("writing", total: 100 << 20)
        _ = state.drain()
        // 100 MiB in 64 KiB blocks within far less than 250 ms: every percentage is crossed.
        for block in 1...1600 { state.setBytes(done: UInt64(block) << 16, image: "rootfs") }
        let events = progressEvents(state)
        #expect(events.count <= 1, "\(events.count) signals for 1600 blocks")
        #expect(state.snapshot.progress.percent == 99, "99 until the install completed")
    }

    @Test func aNewPhaseIsSignalledAtOnceAndTheEndCarries100() {
        let state = OperationState()
        _ = state.begin(operationID: "op", caller: ":1.1")
        state.setPhase("verifying")
        state.setPhase("writing", total: 10)
        state.setPhase("flipping")
        #expect(progressEvents(state).map(\.phase) == ["verifying", "writing", "flipping"])
        state.finish(.init(exitCode: 0, message: "installed", operationID: "op"))
        let events = state.drain()
        #expect(events.count == 2)
        if case .progress(let progress, let phase) = events[0] {
            #expect(progress.percent == 100 && phase == "done")
        }
        if case .completed(let result) = events[1] { #expect(result.operationID == "op") }
        #expect(state.snapshot.operation == "idle")
        #expect(state.begin(operationID: "next", caller: ":1.2") == nil, "idle again: a new install may start")
        #expect(state.begin(operationID: "third", caller: ":1.3")?.operationID == "next", "busy while one runs")
    }
}
