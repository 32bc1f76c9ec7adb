import Synchronization
import TwinslotCore

#if canImport(Glibc)
    import Glibc
#endif

/// Progress for the server ("Downloaded NN%", the detail goosebit draws its progress bar from,
/// every further 10 %), sent without ever slowing the install.
///
/// The install's progress callback runs on the image-writing thread; a feedback request can take
/// seconds (a slow or overloaded server). So the callback only stores the latest value in a
/// mutex-guarded box, and one sender thread posts it: at most one feedback in flight, values
/// that arrived meanwhile coalesced (the latest wins), and `finish()` does not wait for a
/// request in flight. A lost or late progress message costs nothing; the closing feedback is
/// what counts (a late one may still arrive after "Downloaded 100%", which servers tolerate).
public final class ProgressFeedback: Sendable {
    struct State {
        var done: UInt64 = 0
        var currentClass = ""
        var classBase: UInt64 = 0
        /// The latest tenth (0–9) the pipeline reached, and the last one sent.
        var latest = 0
        var sent = 0
        var finished = false
        /// Counts, for tests and logs.
        var events = 0
        var requests = 0
    }

    private let state = Mutex(State())
    private let size: UInt64?

    /// Starts the sender thread.
    init(client: DDIClient.Configuration, link: DDI.Link, actionID: String, size: UInt64?) {
        self.size = size
        startThread(name: "ddi-progress") { [self] in
            guard let sender = try? DDIClient(client) else { return }
            while true {
                let next: Int? = state.withLock { state in
                    if state.finished { return -1 }
                    guard state.latest > state.sent else { return nil }
                    state.sent = state.latest
                    state.requests += 1
                    return state.latest
                }
                guard let tenth = next else {
                    usleep(20_000)
                    continue
                }
                if tenth < 0 { return }
                try? sender.sendFeedback(
                    deployment: link,
                    DDI.Feedback(
                        id: actionID, execution: .proceeding, finished: .none, details: ["Downloaded \(tenth * 10)%"],
                        progress: (tenth, 10)))
            }
        }
    }

    /// The install's callback: arithmetic under a lock, no I/O.
    func progress(_ progress: Installer.Progress) {
        guard let size, size > 0 else { return }
        state.withLock { state in
            state.events += 1
            if progress.slotClass != state.currentClass {
                state.classBase = state.done
                state.currentClass = progress.slotClass
            }
            state.done = state.classBase + progress.bytes
            // Image bytes, not download bytes: close enough for a progress bar, capped below 100.
            state.latest = max(state.latest, min(9, Int(state.done * 10 / size)))
        }
    }

    /// Stops the sender after its request in flight, if any, without waiting for it.
    /// Returns (progress events seen, feedback requests started).
    @discardableResult
    func finish() -> (events: Int, requests: Int) {
        state.withLock { state in
            state.finished = true
            return (state.events, state.requests)
        }
    }
}
