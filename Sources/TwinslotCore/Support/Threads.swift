import CLinux

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// A pthread mutex with its condition variable: what Foundation's `NSCondition` does, without
/// Foundation. Both live at fixed addresses, as pthreads requires.
final class ConditionLock: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

    init() {
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

    func lock() { pthread_mutex_lock(mutex) }
    func unlock() { pthread_mutex_unlock(mutex) }
    /// Waits for a signal; call with the lock held (it is held again on return).
    func wait() { pthread_cond_wait(condition, mutex) }
    func signal() { pthread_cond_signal(condition) }
}

/// Starts `body` on a new detached thread: what Foundation's `Thread` does, without Foundation.
public func startThread(name: String, _ body: @escaping @Sendable () -> Void) {
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
        pthread_detach(thread!)
    #else
        pthread_detach(thread)
    #endif
}
