import Foundation

/// A child process the test started and stops (by PID) when it is done with it.
public final class BackgroundProcess: @unchecked Sendable {
    public let process = Process()
    private let output = Pipe()

    public init(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) throws {
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
    }

    /// The first line the process printed (a port, typically).
    public func firstLine() -> String {
        var bytes = [UInt8]()
        let fd = output.fileHandleForReading.fileDescriptor
        var byte: UInt8 = 0
        while true {
            let count = read(fd, &byte, 1)
            if count < 0 && errno == EINTR { continue }
            guard count == 1, byte != 0x0A else { break }
            bytes.append(byte)
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// SIGTERM, and SIGKILL after 3 s: a test runner may hand its children a blocked SIGTERM.
    public func stop() {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGTERM)
        let deadline = Date().addingTimeInterval(3)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    deinit { stop() }
}

/// A free TCP port on 127.0.0.1 (the kernel picks it; a race with another binder is unlikely).
public func freeLoopbackPort() -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    withUnsafeMutablePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { generic in
            _ = bind(fd, generic, length)
            _ = getsockname(fd, generic, &length)
        }
    }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// The real nginx serving a directory on 127.0.0.1, with byte ranges, ETags and an access log
/// that records each request's Range header.
public final class NginxServer: @unchecked Sendable {
    public let port: Int
    public let root: String
    public let directory: String
    private let process: BackgroundProcess

    public var url: String { "http://127.0.0.1:\(port)" }
    public var accessLog: String { directory + "/access.log" }

    public init(serving root: String) throws {
        self.root = root
        directory = TestEnvironment.temporaryDirectory("nginx")
        port = freeLoopbackPort()
        let config = """
            worker_processes 1;
            pid \(directory)/nginx.pid;
            error_log \(directory)/error.log;
            events { worker_connections 64; }
            http {
                access_log \(directory)/access.log;
                keepalive_timeout 0;
                log_format ranges '$request "$http_range" $status $body_bytes_sent';
                client_body_temp_path \(directory)/body;
                proxy_temp_path \(directory)/proxy;
                fastcgi_temp_path \(directory)/fastcgi;
                uwsgi_temp_path \(directory)/uwsgi;
                scgi_temp_path \(directory)/scgi;
                server {
                    listen 127.0.0.1:\(port);
                    access_log \(directory)/access.log ranges;
                    root \(root);
                    location /private/ {
                        if ($http_authorization != "TargetToken secret") { return 401; }
                    }
                }
            }
            """
        try config.write(toFile: directory + "/nginx.conf", atomically: true, encoding: .utf8)
        process = try BackgroundProcess(
            "/usr/sbin/nginx", ["-p", directory, "-c", directory + "/nginx.conf", "-g", "daemon off;"])
        try Self.waitForPort(port)
    }

    public static func waitForPort(_ port: Int, seconds: Double = 20) throws {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            address.sin_port = UInt16(port).bigEndian
            let connected = withUnsafePointer(to: &address) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
                }
            }
            close(fd)
            if connected { return }
            usleep(50_000)
        }
        throw TestSupportError("nothing listens on 127.0.0.1:\(port) after \(seconds) s")
    }

    public func stop() { process.stop() }
    deinit { stop() }
}

/// fixtures/net/dropping-proxy.py in front of a loopback server: it cuts the first `drops`
/// connections after `dropAfter` response bytes, and logs what each connection asked for.
public final class DroppingProxy: @unchecked Sendable {
    public let port: Int
    public let log: String
    private let process: BackgroundProcess

    public var url: String { "http://127.0.0.1:\(port)" }

    public init(upstreamPort: Int, dropAfter: Int, drops: Int) throws {
        log = TestEnvironment.temporaryDirectory("proxy") + "/connections.jsonl"
        process = try BackgroundProcess(
            "/usr/bin/python3",
            [
                TestEnvironment.repositoryRoot + "/fixtures/net/dropping-proxy.py", "--upstream", "\(upstreamPort)",
                "--drop-after", "\(dropAfter)", "--drops", "\(drops)", "--log", log,
            ])
        guard let port = Int(process.firstLine()) else { throw TestSupportError("dropping-proxy.py did not start") }
        self.port = port
    }

    public struct Connection: Decodable, Sendable {
        public var connection: Int
        public var request: String
        public var range: String?
        public var relayed: Int
        public var cut: Bool
    }

    public func connections() throws -> [Connection] {
        guard let text = try? String(contentsOfFile: log, encoding: .utf8) else { return [] }
        return try text.split(separator: "\n").map { try JSONDecoder().decode(Connection.self, from: Data($0.utf8)) }
            .sorted { $0.connection < $1.connection }
    }

    public func stop() { process.stop() }
    deinit { stop() }
}
