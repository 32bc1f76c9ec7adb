import Foundation
import Synchronization

@testable import TwinslotCore

/// Shared test scaffolding: the repository root, temporary directories, and the test PKI made by
/// scripts/make-test-pki.sh (once per test process).
enum Fixtures {
    static let repositoryRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        while url.path != "/" {
            url.deleteLastPathComponent()
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) {
                return url.path
            }
        }
        fatalError("Package.swift not found above \(#filePath)")
    }()

    static func temporaryDirectory(_ label: String = "test") -> String {
        let path = NSTemporaryDirectory() + "twinslot-\(label)-\(UUID().uuidString.prefix(8))"
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    private static let pkiDirectory = Mutex<String?>(nil)

    /// The directory holding the test PKI (keys and certificates, never committed).
    static func pki() throws -> String {
        try pkiDirectory.withLock { cached in
            if let cached { return cached }
            let directory = NSTemporaryDirectory() + "twinslot-pki-\(getpid())"
            let result = try run("/bin/bash", [repositoryRoot + "/scripts/make-test-pki.sh", directory])
            guard result.status == 0 else { throw FixtureError("make-test-pki.sh failed: \(result.stderr)") }
            cached = directory
            return directory
        }
    }

    static func signer(_ name: String = "signer") throws -> SigningIdentity {
        let pki = try pki()
        let chain = pki + "/signer-chain.pem"
        return try SigningIdentity(
            certificatePEM: pki + "/\(name).pem", privateKeyPEM: pki + "/\(name).key",
            chainPEM: FileManager.default.fileExists(atPath: chain) ? chain : nil)
    }

    static func keyring() throws -> Keyring { try Keyring(contentsOf: try pki() + "/keyring.pem") }

    struct ProcessResult {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    @discardableResult
    static func run(_ executable: String, _ arguments: [String], environment: [String: String]? = nil) throws
        -> ProcessResult
    {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let environment {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return ProcessResult(
            status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
            stderr: String(decoding: errData, as: UTF8.self))
    }

    /// Deterministic, moderately compressible bytes (like a file system image).
    static func imageBytes(count: Int, seed: UInt64) -> [UInt8] {
        var state = seed &* 6_364_136_223_846_793_005 &+ 1
        var bytes = [UInt8](repeating: 0, count: count)
        var i = 0
        while i < count {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let run = Int(state >> 60) + 1
            let value = UInt8(truncatingIfNeeded: state >> 33)
            for j in i..<min(count, i + run * ((value & 1) == 0 ? 1 : 8)) {
                bytes[j] = value &+ UInt8(truncatingIfNeeded: j & 3)
            }
            i += run * ((value & 1) == 0 ? 1 : 8)
        }
        return bytes
    }

    static func write(_ bytes: [UInt8], to path: String) {
        FileManager.default.createFile(atPath: path, contents: Data(bytes))
    }

    static func read(_ path: String) -> [UInt8] {
        Array(FileManager.default.contents(atPath: path) ?? Data())
    }
}

struct FixtureError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
