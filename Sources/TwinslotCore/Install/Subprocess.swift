#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

#if canImport(Glibc)
    import Glibc
#endif

/// Runs a command in its own process group with a time limit and bounded output: health checks,
/// hooks and the reboot command must never hang the boot service or fill its memory. At the
/// limit the whole group gets SIGTERM, then SIGKILL a second later, so a hung shell's children
/// die with it.
public enum Subprocess {
    public struct Result: Sendable, Equatable {
        /// The exit status, or nil when killed by a signal.
        public var status: Int32?
        public var signal: Int32?
        public var timedOut: Bool
        /// stdout and stderr together, at most `outputLimit` bytes (the rest is dropped).
        public var output: String
        /// stderr, at most `outputLimit` bytes, when run with `separateErrors` (else empty).
        public var errors: String = ""
        public var seconds: Double
        /// waitpid failed (ECHILD when SIGCHLD is ignored, say): how the command ended is not
        /// known, so it did not succeed. A health check must fail closed.
        public var waitError: Int32?

        public var succeeded: Bool { status == 0 && !timedOut && waitError == nil }

        public var summary: String {
            if let waitError {
                return "ended in a way that could not be read (waitpid: \(String(cString: strerror(waitError)))); "
                    + "counted as a failure"
            }
            if timedOut { return "timed out after \(fixedPoint(seconds, digits: 1)) s and was killed" }
            if let signal { return "killed by signal \(signal)" }
            return "exited with status \(status ?? -1)"
        }
    }

    public static let outputLimit = 64 << 10

    /// - Parameters:
    ///   - separateErrors: stderr goes to `Result.errors` instead of being merged into `output`.
    ///   - searchPath: a command name without '/' is looked up in PATH; without it, such a name
    ///     is a path relative to the working directory.
    public static func run(
        _ arguments: [String], environment: [String: String] = [:], timeout: Double,
        separateErrors: Bool = false, searchPath: Bool = true
    ) throws -> Result {
        guard let executable = arguments.first else { throw SubprocessError(message: "empty command") }
        let start = Date()
        var pipe: [Int32] = [0, 0]
        var errorPipe: [Int32] = [-1, -1]
        guard Glibc.pipe(&pipe) == 0 else {
            throw SubprocessError(message: "pipe: \(String(cString: strerror(errno)))")
        }
        if separateErrors {
            guard Glibc.pipe(&errorPipe) == 0 else {
                let error = errno
                close(pipe[0])
                close(pipe[1])
                throw SubprocessError(message: "pipe: \(String(cString: strerror(error)))")
            }
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, pipe[1], 1)
        posix_spawn_file_actions_adddup2(&actions, separateErrors ? errorPipe[1] : pipe[1], 2)
        posix_spawn_file_actions_addclose(&actions, pipe[0])
        if separateErrors { posix_spawn_file_actions_addclose(&actions, errorPipe[0]) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP))
        posix_spawnattr_setpgroup(&attributes, 0)

        var merged = ProcessInfo.processInfo.environment
        for (key, value) in environment { merged[key] = value }
        let environmentLines = merged.map { "\($0)=\($1)" }
        var pid: pid_t = 0
        let spawned = withCStrings(arguments) { argv in
            withCStrings(environmentLines) { envp in
                if executable.contains("/") || !searchPath {
                    return posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
                }
                return posix_spawnp(&pid, executable, &actions, &attributes, argv, envp)
            }
        }
        close(pipe[1])
        if separateErrors { close(errorPipe[1]) }
        guard spawned == 0 else {
            close(pipe[0])
            if separateErrors { close(errorPipe[0]) }
            throw SubprocessError(message: "cannot run \(executable): \(String(cString: strerror(spawned)))")
        }

        // stdout (and stderr, unless separate) into `outputs[0]`; a separate stderr into `outputs[1]`.
        var outputs: [[UInt8]] = [[], []]
        var descriptors = [pollfd(fd: pipe[0], events: Int16(POLLIN), revents: 0)]
        if separateErrors { descriptors.append(pollfd(fd: errorPipe[0], events: Int16(POLLIN), revents: 0)) }
        var buffer = [UInt8](repeating: 0, count: 4096)
        var timedOut = false
        var killDeadline: Date?
        let deadline = start.addingTimeInterval(timeout)
        while descriptors.contains(where: { $0.fd >= 0 }) {
            let now = Date()
            if !timedOut && now >= deadline {
                timedOut = true
                kill(-pid, SIGTERM)
                killDeadline = now.addingTimeInterval(1)
            }
            if let killDeadline, now >= killDeadline {
                kill(-pid, SIGKILL)
                break
            }
            let wait = timedOut ? killDeadline!.timeIntervalSince(now) : deadline.timeIntervalSince(now)
            let ready = poll(&descriptors, nfds_t(descriptors.count), Int32(max(1, min(wait, 0.25) * 1000)))
            guard ready > 0 else { continue }
            for index in descriptors.indices where descriptors[index].fd >= 0 && descriptors[index].revents != 0 {
                let n = read(descriptors[index].fd, &buffer, buffer.count)
                if n <= 0 {
                    // A negative fd is ignored by poll: this stream is finished.
                    descriptors[index].fd = -1
                } else if outputs[index].count < outputLimit {
                    outputs[index] += buffer[..<min(n, outputLimit - outputs[index].count)]
                }
            }
        }
        close(pipe[0])
        if separateErrors { close(errorPipe[0]) }
        // The pipes closed (or the group was killed); reap the leader, bounded by the kill timer.
        var status: Int32 = 0
        var waitError: Int32?
        while true {
            let reaped = waitpid(pid, &status, timedOut ? 0 : WNOHANG)
            if reaped == pid { break }
            if reaped == -1 {
                if errno == EINTR { continue }
                waitError = errno
                break
            }
            if Date() >= deadline && !timedOut {
                timedOut = true
                kill(-pid, SIGTERM)
                usleep(200_000)
                kill(-pid, SIGKILL)
            } else {
                usleep(5000)
            }
        }
        if timedOut || waitError != nil { kill(-pid, SIGKILL) }
        let exited = waitError == nil && status & 0x7f == 0
        let signaled = waitError == nil && !exited
        return Result(
            status: exited ? (status >> 8) & 0xff : nil, signal: signaled ? status & 0x7f : nil, timedOut: timedOut,
            output: String(decoding: outputs[0], as: UTF8.self), errors: String(decoding: outputs[1], as: UTF8.self),
            seconds: Date().timeIntervalSince(start), waitError: waitError)
    }

    private static func withCStrings<T>(_ strings: [String], _ body: ([UnsafeMutablePointer<CChar>?]) -> T) -> T {
        let pointers = strings.map { strdup($0) } + [nil]
        defer { pointers.forEach { free($0) } }
        return body(pointers)
    }
}

public struct SubprocessError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}
