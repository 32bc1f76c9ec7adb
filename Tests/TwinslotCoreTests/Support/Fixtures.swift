import Foundation
import TestSupport

@testable import TwinslotCore

/// Shared test scaffolding: the repository root, temporary directories, and the test PKI made by
/// scripts/make-test-pki.sh (once per test process).
enum Fixtures {
    static var repositoryRoot: String { TestEnvironment.repositoryRoot }

    static func temporaryDirectory(_ label: String = "test") -> String { TestEnvironment.temporaryDirectory(label) }

    static func pki() throws -> String { try TestEnvironment.pki() }

    /// A signer of the test PKI with its intermediates: `NAME-chain.pem` when the signer has its
    /// own (it is issued by another intermediate), else `signer-chain.pem`.
    static func signer(_ name: String = "signer") throws -> SigningIdentity {
        let pki = try pki()
        let own = pki + "/\(name)-chain.pem"
        let chain = FileManager.default.fileExists(atPath: own) ? own : pki + "/signer-chain.pem"
        return try SigningIdentity(
            certificatePEM: pki + "/\(name).pem", privateKeyPEM: pki + "/\(name).key",
            chainPEM: FileManager.default.fileExists(atPath: chain) ? chain : nil)
    }

    /// A keyring of the test PKI: `keyring` (the root CA), `crl-keyring` (the root CA and every
    /// issuer's CRL), `partial-crl-keyring` (the root CA and the root's CRL only).
    static func keyring(_ name: String = "keyring") throws -> Keyring {
        try Keyring(contentsOf: try pki() + "/\(name).pem")
    }

    @discardableResult
    static func run(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) throws
        -> TestEnvironment.ProcessResult
    {
        try TestEnvironment.run(executable, arguments, environment: environment)
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
