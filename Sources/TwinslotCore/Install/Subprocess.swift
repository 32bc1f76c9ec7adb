import Foundation

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
        public var seconds: Double

        public var succeeded: Bool { status == 0 && !timedOut }

        public var summary: String {
            if timedOut { return String(format: "timed out after %.1f s and was killed", seconds) }
            if let signal { return "killed by signal \(signal)" }
            return "exited with status \(status ?? -1)"
        }
    }

    public static let outputLimit = 64 << 10

    public static func run(
        _ arguments: [String], environment: [String: String] = [:], timeout: Double
    ) throws -> Result {
        guard let executable = arguments.first else { throw SubprocessError(message: "empty command") }
        let start = Date()
        var pipe: [Int32] = [0, 0]
        guard Glibc.pipe(&pipe) == 0 else {
            throw SubprocessError(message: "pipe: \(String(cString: strerror(errno)))")
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, pipe[1], 1)
        posix_spawn_file_actions_adddup2(&actions, pipe[1], 2)
        posix_spawn_file_actions_addclose(&actions, pipe[0])
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
                if executable.contains("/") {
                    return posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
                }
                return posix_spawnp(&pid, executable, &actions, &attributes, argv, envp)
            }
        }
        close(pipe[1])
        guard spawned == 0 else {
            close(pipe[0])
            throw SubprocessError(message: "cannot run \(executable): \(String(cString: strerror(spawned)))")
        }

        var output: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        var timedOut = false
        var killDeadline: Date?
        let deadline = start.addingTimeInterval(timeout)
        var open = true
        while open {
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
            var descriptor = pollfd(fd: pipe[0], events: Int16(POLLIN), revents: 0)
            let ready = poll(&descriptor, 1, Int32(max(1, min(wait, 0.25) * 1000)))
            if ready > 0 {
                let n = read(pipe[0], &buffer, buffer.count)
                if n <= 0 {
                    open = false
                } else if output.count < outputLimit {
                    output += buffer[..<min(n, outputLimit - output.count)]
                }
            }
        }
        close(pipe[0])
        // The pipe closed (or the group was killed); reap the leader, bounded by the kill timer.
        var status: Int32 = 0
        while waitpid(pid, &status, timedOut ? 0 : WNOHANG) == 0 {
            if Date() >= deadline && !timedOut {
                timedOut = true
                kill(-pid, SIGTERM)
                usleep(200_000)
                kill(-pid, SIGKILL)
            } else {
                usleep(5000)
            }
        }
        if timedOut { kill(-pid, SIGKILL) }
        let exited = status & 0x7f == 0
        return Result(
            status: exited ? (status >> 8) & 0xff : nil, signal: exited ? nil : status & 0x7f, timedOut: timedOut,
            output: String(decoding: output, as: UTF8.self), seconds: Date().timeIntervalSince(start))
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
