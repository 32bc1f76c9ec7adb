import Foundation
import Synchronization

/// What every test target needs from the machine: the repository, child processes, and the
/// test PKI made by scripts/make-test-pki.sh (once per test process).
public enum TestEnvironment {
    public static let repositoryRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        while url.path != "/" {
            url.deleteLastPathComponent()
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) {
                return url.path
            }
        }
        fatalError("Package.swift not found above \(#filePath)")
    }()

    public struct ProcessResult: Sendable {
        public var status: Int32
        public var stdout: String
        public var stderr: String
    }

    @discardableResult
    public static func run(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) throws
        -> ProcessResult
    {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        // Read stderr on another thread so neither pipe can fill up and block the child.
        let errData = Mutex(Data())
        let reader = Thread { errData.withLock { $0 = err.fileHandleForReading.readDataToEndOfFile() } }
        reader.start()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        while reader.isExecuting || !reader.isFinished { usleep(1000) }
        return ProcessResult(
            status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
            stderr: String(decoding: errData.withLock { $0 }, as: UTF8.self))
    }

    public static func temporaryDirectory(_ label: String) -> String {
        let path = NSTemporaryDirectory() + "twinslot-\(label)-\(UUID().uuidString.prefix(8))"
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    private static let pkiDirectory = Mutex<String?>(nil)
    /// Held while the first caller makes the PKI (seconds of openssl). A pthread lock, not the
    /// `Mutex` itself: ThreadSanitizer does not see `Synchronization.Mutex`'s futex wait once it
    /// is contended for long, and reported the cached value as a race (docs/architecture.md,
    /// "Sanitizers"); the `Mutex` is held only for the read and the write.
    private static let pkiGeneration = NSLock()

    /// The directory holding the test PKI (keys and certificates, never committed).
    public static func pki() throws -> String {
        pkiGeneration.lock()
        defer { pkiGeneration.unlock() }
        if let cached = pkiDirectory.withLock({ $0 }) { return cached }
        let directory = NSTemporaryDirectory() + "twinslot-pki-\(getpid())"
        let result = try run("/bin/bash", [repositoryRoot + "/scripts/make-test-pki.sh", directory])
        guard result.status == 0 else { throw TestSupportError("make-test-pki.sh failed: \(result.stderr)") }
        pkiDirectory.withLock { $0 = directory }
        return directory
    }
}

public struct TestSupportError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
