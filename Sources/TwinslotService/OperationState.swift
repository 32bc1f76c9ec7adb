import Synchronization

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

#if canImport(Glibc)
    import Glibc
#endif

/// What the service is doing, shared by the bus loop and the install worker. The worker only
/// records; the loop reads the properties and drains the events it turns into signals, so
/// nothing on the worker waits for the bus or a slow client.
final class OperationState: Sendable {
    struct Progress: Equatable, Sendable {
        var percent: Int32 = 0
        var message = ""
        var bytes: UInt64 = 0
        var total: UInt64 = 0
    }

    struct Result: Equatable, Sendable {
        var exitCode: Int32
        var message: String
        var operationID: String
    }

    struct Snapshot: Equatable, Sendable {
        var operation = "idle"
        var phase = ""
        var progress = Progress()
        var lastError = ""
        var operationID = ""
        var lastResult: Result?
        /// The unique bus name of the caller that started the running install.
        var caller = ""
    }

    enum Event: Sendable {
        case progress(Progress, phase: String)
        case completed(Result)
        /// A deferred method reply is ready (see `Service.deferred`).
        case reply(token: UInt64)
    }

    private struct Inner {
        var snapshot = Snapshot()
        var events: [Event] = []
        var lastSignal = ContinuousClock.now - .seconds(1)
        var lastSignalledPercent: Int32 = -1
        var lastSignalledPhase = ""
    }

    private let inner = Mutex(Inner())
    private let replies = Mutex<[UInt64: Swift.Result<[BusValue], ServiceError>]>([:])
    /// The worker writes a byte to `wake[1]`; the loop polls `wake[0]`.
    let wake: (read: Int32, write: Int32)
    /// Progress signals at most this often, unless the phase changed or the install ended.
    static let signalInterval = Duration.milliseconds(250)

    init() {
        var fds: [Int32] = [-1, -1]
        precondition(pipe(&fds) == 0, "pipe failed: \(errno)")
        for fd in fds {
            _ = fcntl(fd, F_SETFL, O_NONBLOCK)
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        }
        wake = (fds[0], fds[1])
    }

    deinit {
        close(wake.read)
        close(wake.write)
    }

    var snapshot: Snapshot { inner.withLock { $0.snapshot } }

    /// Claims the service for an install, or tells who holds it.
    func begin(operationID: String, caller: String) -> Snapshot? {
        inner.withLock { state in
            if state.snapshot.operation != "idle" { return state.snapshot }
            state.snapshot.operation = "installing"
            state.snapshot.operationID = operationID
            state.snapshot.caller = caller
            state.snapshot.phase = "starting"
            state.snapshot.progress = Progress(percent: 0, message: "starting")
            state.lastSignalledPercent = -1
            return nil
        }
    }

    func setPhase(_ phase: String, total: UInt64? = nil) {
        update { snapshot in
            snapshot.phase = phase
            snapshot.progress.message = phase
            if let total { snapshot.progress.total = total }
        }
    }

    /// Byte progress from the installer, turned into a percentage of the declared bytes
    /// (99 at most until the install completed).
    func setBytes(done: UInt64, image: String) {
        update { snapshot in
            snapshot.progress.bytes = done
            snapshot.progress.message = "writing \(image)"
            let total = snapshot.progress.total
            if total > 0 { snapshot.progress.percent = Int32(min(99, done * 100 / total)) }
        }
    }

    func finish(_ result: Result) {
        inner.withLock { state in
            state.snapshot.operation = "idle"
            state.snapshot.phase = result.exitCode == 0 ? "done" : "failed"
            if result.exitCode == 0 {
                state.snapshot.progress.percent = 100
                state.snapshot.lastError = ""
            } else {
                state.snapshot.lastError = result.message
            }
            state.snapshot.progress.message = result.message
            state.snapshot.lastResult = result
            state.snapshot.operationID = ""
            state.snapshot.caller = ""
            state.events.append(.progress(state.snapshot.progress, phase: state.snapshot.phase))
            state.events.append(.completed(result))
        }
        poke()
    }

    /// A worker's answer to a deferred call, kept until the bus thread sends it.
    func replyReady(token: UInt64, result: Swift.Result<[BusValue], ServiceError>) {
        replies.withLock { $0[token] = result }
        inner.withLock { $0.events.append(.reply(token: token)) }
        poke()
    }

    func takeReply(token: UInt64) -> Swift.Result<[BusValue], ServiceError>? {
        replies.withLock { $0.removeValue(forKey: token) }
    }

    func drain() -> [Event] {
        var byte: UInt8 = 0
        while read(wake.read, &byte, 1) == 1 {}
        return inner.withLock { state in
            defer { state.events.removeAll() }
            return state.events
        }
    }

    /// Applies a change and queues a Progress signal when the percentage or the phase moved,
    /// at most every `signalInterval` for the percentage alone.
    private func update(_ change: (inout Snapshot) -> Void) {
        let queued = inner.withLock { state -> Bool in
            change(&state.snapshot)
            let now = ContinuousClock.now
            let phaseMoved = state.snapshot.phase != state.lastSignalledPhase
            let percentMoved = state.snapshot.progress.percent != state.lastSignalledPercent
            guard phaseMoved || (percentMoved && now - state.lastSignal >= Self.signalInterval) else { return false }
            state.lastSignal = now
            state.lastSignalledPercent = state.snapshot.progress.percent
            state.lastSignalledPhase = state.snapshot.phase
            state.events.append(.progress(state.snapshot.progress, phase: state.snapshot.phase))
            return true
        }
        if queued { poke() }
    }

    private func poke() {
        var byte: UInt8 = 1
        _ = write(wake.write, &byte, 1)
    }
}
