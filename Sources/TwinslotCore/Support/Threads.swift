import CLinux
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// A lock box with a condition variable: `State` is reachable only inside `withLock` and `wait`,
/// which hold the pthread mutex, so every access to it is serialized (what `Mutex` guarantees,
/// plus waiting, which `Synchronization.Mutex` does not offer). The mutex and the condition live at
/// fixed addresses, as pthreads requires.
///
/// Why `@unchecked Sendable`, the one lock primitive that keeps it: the compiler cannot see that
/// the pthread mutex guards `state` (it cannot see that for `Mutex`'s own storage either, which
/// the standard library marks the same way); the class's only other members are the immutable
/// pointers to the pthread objects, which are made for use from several threads.
final class ConditionLock<State>: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var state: State

    init(_ state: State) {
        self.state = state
        mutex.initialize(to: pthread_mutex_t())
        condition.initialize(to: pthread_cond_t())
        precondition(pthread_mutex_init(mutex, nil) == 0 && pthread_cond_init(condition, nil) == 0)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    /// Runs `body` with the lock held, then wakes one waiter.
    func withLockSignalling<Result>(_ body: (inout State) -> Result) -> Result {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        let result = body(&state)
        pthread_cond_signal(condition)
        return result
    }

    /// Waits (with the lock released while it sleeps) until `ready` holds, then runs `body` with
    /// the lock held.
    func wait<Result>(until ready: (State) -> Bool, then body: (inout State) -> Result) -> Result {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        while !ready(state) { pthread_cond_wait(condition, mutex) }
        return body(&state)
    }
}

/// A value handed to another thread whose use the compiler cannot prove safe, though it is: each
/// use site says which of the two reasons holds — the value is used by one thread at a time and
/// each handoff is ordered by a `BlockingQueue` (its mutex), or the value is made for concurrent
/// use (a `StorageFile`'s positional `read` and `write`: `pread`/`pwrite`, or `FaultyStorage`'s
/// mutex). Narrower than marking the whole owning class `@unchecked Sendable`: the owner stays
/// checked, so a mutable member added later is still caught.
struct ThreadHandoff<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}

/// Starts `body` on a new detached thread: what Foundation's `Thread` does, without Foundation.
/// For work nothing waits to see the end of (a bus call's worker); an engine thread whose owner
/// hands it buffers is a `JoinableThread`, so it never outlives the owner.
public func startThread(name: String, _ body: @escaping @Sendable () -> Void) {
    pthread_detach(spawnThread(name: name, body))
}

/// A thread its owner waits for: `join()` returns once `body` has returned and the thread has
/// released what it captured. The pipeline, read-back and tar-check workers are joined on every
/// path, the failed ones included, so no worker is still reading (or holding its buffers) after
/// the call that started it returned. Joined exactly once, by its owner, never from itself.
final class JoinableThread: Sendable {
    private let thread: Mutex<pthread_t?>

    init(name: String, _ body: @escaping @Sendable () -> Void) {
        thread = Mutex(spawnThread(name: name, body))
    }

    func join() {
        guard
            let handle = thread.withLock({ state -> pthread_t? in
                defer { state = nil }
                return state
            })
        else { return }
        pthread_join(handle, nil)
    }
}

private func spawnThread(name: String, _ body: @escaping @Sendable () -> Void) -> pthread_t {
    final class Box {
        let body: @Sendable () -> Void
        init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    }
    // Linux limits thread names to 15 bytes.
    let label = String(name.utf8.prefix(15)) ?? "twinslot"
    let named: @Sendable () -> Void = {
        ts_set_thread_name(label)
        body()
    }
    let argument = Unmanaged.passRetained(Box(named)).toOpaque()
    #if canImport(Darwin)
        var thread: pthread_t?
    #else
        var thread = pthread_t()
    #endif
    let result = pthread_create(
        &thread, nil,
        { argument in
            #if canImport(Darwin)
                let box = Unmanaged<Box>.fromOpaque(argument).takeRetainedValue()
            #else
                let box = Unmanaged<Box>.fromOpaque(argument!).takeRetainedValue()
            #endif
            box.body()
            return nil
        }, argument)
    guard result == 0 else {
        Unmanaged<Box>.fromOpaque(argument).release()
        fatalError("pthread_create: \(String(cString: strerror(result)))")
    }
    #if canImport(Darwin)
        return thread!
    #else
        return thread
    #endif
}
