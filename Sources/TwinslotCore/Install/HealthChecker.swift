#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

#if canImport(Glibc)
    import Glibc
#endif

/// The result of one configured check, for reports and status.
public struct HealthCheckResult: Sendable, Codable, Equatable {
    public var name: String
    public var kind: String
    public var required: Bool
    public var passed: Bool
    public var attempts: Int
    public var seconds: Double
    /// Why it failed (or the command's output), at most a few KiB.
    public var detail: String
}

/// What the health checks of a trial group concluded.
public struct HealthVerdict: Sendable, Codable, Equatable {
    public var results: [HealthCheckResult]
    /// Why the group must not be committed, or nil when it may.
    public var problem: String?

    public init(results: [HealthCheckResult], problem: String?) {
        self.results = results
        self.problem = problem
    }

    public static let healthy = HealthVerdict(results: [], problem: nil)
}

/// Decides whether the running trial group is healthy.
public protocol HealthChecking {
    func check(device: Device, group: SlotLetter) -> HealthVerdict
}

/// Accepts every boot (a device with no checks configured behaves the same way).
public struct PassingHealthCheck: HealthChecking {
    public init() {}
    public func check(device: Device, group: SlotLetter) -> HealthVerdict { .healthy }
}

/// Runs the checks of `system.toml`'s `[health]`: each with its timeout, retries and delay; a
/// failing required check makes the group unhealthy, a failing optional one is only reported.
public struct HealthChecker: HealthChecking {
    public init() {}

    public func check(device: Device, group: SlotLetter) -> HealthVerdict {
        var results: [HealthCheckResult] = []
        for check in device.config.health.checks {
            let start = Date()
            var attempts = 0
            var failure: String?
            repeat {
                if attempts > 0 { sleepFor(check.retryDelay) }
                attempts += 1
                failure = Self.run(check, group: group)
            } while failure != nil && attempts <= check.retries
            results.append(
                HealthCheckResult(
                    name: check.name, kind: check.kind.name, required: check.required, passed: failure == nil,
                    attempts: attempts, seconds: Date().timeIntervalSince(start), detail: failure ?? "ok"))
        }
        let failed = results.filter { !$0.passed && $0.required }
        let problem =
            failed.isEmpty
            ? nil
            : failed.map { "required check '\($0.name)' failed: \($0.detail)" }.joined(separator: "; ")
        return HealthVerdict(results: results, problem: problem)
    }

    private func sleepFor(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        usleep(useconds_t(max(0, seconds) * 1_000_000 + attoseconds / 1_000_000_000_000))
    }

    static func seconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return Double(seconds) + Double(attoseconds) / 1e18
    }

    /// Runs one attempt; returns why it failed, or nil.
    static func run(_ check: HealthCheckConfig, group: SlotLetter) -> String? {
        let timeout = seconds(check.timeout)
        switch check.kind {
        case .command(let command):
            do {
                let result = try Subprocess.run(
                    command, environment: ["TWINSLOT_BOOTED_GROUP": group.rawValue, "TWINSLOT_CHECK": check.name],
                    timeout: timeout)
                if result.succeeded { return nil }
                let output = result.output.trimmingWhitespace()
                return result.summary + (output.isEmpty ? "" : ": " + String(output.suffix(2000)))
            } catch {
                return "\(error)"
            }
        case .file(let path):
            return access(path, F_OK) == 0 ? nil : "\(path) does not exist"
        case .socket(let path):
            return UnixSocketProbe.connect(path: path, timeout: timeout)
        case .tcp(let host, let port):
            return TCPProbe.connect(host: host, port: port, timeout: timeout).error
        case .http(let url):
            return HTTPProbe.get(url, timeout: timeout)
        case .systemd(let unit):
            do {
                let result = try Subprocess.run(["systemctl", "is-active", "--quiet", unit], timeout: timeout)
                return result.succeeded ? nil : "unit \(unit) is not active (\(result.summary))"
            } catch {
                return "\(error)"
            }
        }
    }
}

/// TCP connect with a deadline (non-blocking connect, then poll).
enum TCPProbe {
    static func connect(host: String, port: Int, timeout: Double) -> (fd: Int32?, error: String?) {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &list)
        guard status == 0, let first = list else {
            return (nil, "cannot resolve \(host): \(String(cString: gai_strerror(status)))")
        }
        defer { freeaddrinfo(list) }
        var lastError = "no address for \(host)"
        var entry: UnsafeMutablePointer<addrinfo>? = first
        while let info = entry {
            entry = info.pointee.ai_next
            let fd = socket(info.pointee.ai_family, info.pointee.ai_socktype | Int32(SOCK_NONBLOCK.rawValue), 0)
            guard fd >= 0 else { continue }
            var result = Glibc.connect(fd, info.pointee.ai_addr, info.pointee.ai_addrlen)
            if result != 0 && errno == EINPROGRESS {
                var descriptor = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                if poll(&descriptor, 1, Int32(timeout * 1000)) == 1 {
                    var error: Int32 = 0
                    var length = socklen_t(MemoryLayout<Int32>.size)
                    getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length)
                    result = error == 0 ? 0 : -1
                    if error != 0 { errno = error }
                } else {
                    errno = ETIMEDOUT
                }
            }
            if result == 0 {
                let flags = fcntl(fd, F_GETFL)
                _ = fcntl(fd, F_SETFL, flags & ~Int32(O_NONBLOCK))
                return (fd, nil)
            }
            lastError = "\(host):\(port): \(String(cString: strerror(errno)))"
            close(fd)
        }
        return (nil, lastError)
    }
}

enum UnixSocketProbe {
    static func connect(path: String, timeout: Double) -> String? {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return "socket: \(String(cString: strerror(errno)))" }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { return "socket path too long" }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        return result == 0 ? nil : "\(path): \(String(cString: strerror(errno)))"
    }
}

/// A minimal HTTP/1.1 GET for on-device health URLs (http:// only): 2xx passes.
enum HTTPProbe {
    static func get(_ url: String, timeout: Double) -> String? {
        guard url.hasPrefix("http://") else { return "only http:// URLs can be checked on the device: \(url)" }
        let rest = url.dropFirst("http://".count)
        let authority = rest.prefix { $0 != "/" }
        let path = rest.dropFirst(authority.count)
        var host = String(authority)
        var port = 80
        if let colon = authority.lastIndex(of: ":"), !authority.hasSuffix("]") {
            host = String(authority[..<colon])
            port = Int(authority[authority.index(after: colon)...]) ?? 80
        }
        host = host.trimming(where: { $0 == "[" || $0 == "]" })
        let (fd, error) = TCPProbe.connect(host: host, port: port, timeout: timeout)
        guard let fd else { return error }
        defer { close(fd) }
        var limit = timeval(tv_sec: Int(timeout), tv_usec: Int((timeout - Double(Int(timeout))) * 1_000_000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        let request = Array(
            "GET \(path.isEmpty ? "/" : String(path)) HTTP/1.1\r\nHost: \(authority)\r\nConnection: close\r\nUser-Agent: twinslot-health\r\n\r\n"
                .utf8)
        guard send(fd, request, request.count, Int32(MSG_NOSIGNAL)) == request.count else {
            return "\(url): sending the request failed"
        }
        var response: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1024)
        while !response.contains(0x0a) && response.count < 8192 {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n <= 0 { break }
            response += buffer[..<n]
        }
        let statusLine = String(decoding: response.prefix { $0 != 0x0d && $0 != 0x0a }, as: UTF8.self)
        let parts = statusLine.split(separator: " ")
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/"), let code = Int(parts[1]) else {
            return "\(url): no HTTP response (\(statusLine.isEmpty ? "timed out or closed" : statusLine))"
        }
        return (200..<300).contains(code) ? nil : "\(url) answered \(statusLine.dropFirst(parts[0].count + 1))"
    }
}
