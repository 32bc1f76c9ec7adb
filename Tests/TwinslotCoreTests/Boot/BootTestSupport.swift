import Foundation
import SystemPackage
import Testing

@testable import TwinslotCore

/// A fresh temporary directory, removed when the value is dropped... by the caller's `defer`.
struct TempDir {
    let url: URL
    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("twinslot-boot-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }
    func path(_ name: String) -> String { url.appendingPathComponent(name).path }
    func filePath(_ name: String) -> FilePath { FilePath(path(name)) }
    func remove() { try? FileManager.default.removeItem(at: url) }
    func write(_ name: String, _ bytes: [UInt8]) throws { try Data(bytes).write(to: url.appendingPathComponent(name)) }
    func write(_ name: String, _ text: String) throws { try write(name, Array(text.utf8)) }
    func read(_ name: String) throws -> [UInt8] { Array(try Data(contentsOf: url.appendingPathComponent(name))) }
}

struct ToolResult {
    var status: Int32
    var stdout: String
    var stderr: String
}

/// Runs a real tool found on PATH.
@discardableResult
func tool(_ arguments: [String], expectSuccess: Bool = true) throws -> ToolResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = arguments
    let tempOut = FileManager.default.temporaryDirectory.appendingPathComponent("tool-out-\(UUID().uuidString)")
    let tempErr = FileManager.default.temporaryDirectory.appendingPathComponent("tool-err-\(UUID().uuidString)")
    _ = FileManager.default.createFile(atPath: tempOut.path, contents: nil)
    _ = FileManager.default.createFile(atPath: tempErr.path, contents: nil)
    defer {
        try? FileManager.default.removeItem(at: tempOut)
        try? FileManager.default.removeItem(at: tempErr)
    }
    process.standardOutput = try FileHandle(forWritingTo: tempOut)
    process.standardError = try FileHandle(forWritingTo: tempErr)
    try process.run()
    process.waitUntilExit()
    let result = ToolResult(
        status: process.terminationStatus,
        stdout: String(decoding: try Data(contentsOf: tempOut), as: UTF8.self),
        stderr: String(decoding: try Data(contentsOf: tempErr), as: UTF8.self))
    if expectSuccess && result.status != 0 {
        Issue.record("\(arguments.joined(separator: " ")) failed (\(result.status)): \(result.stderr)")
    }
    return result
}

/// A Storage that records the writes going through it, over the real file system.
final class RecordingStorage: Storage, @unchecked Sendable {
    let base = PosixStorage()
    private let lock = NSLock()
    private var _writes: [(path: String, offset: UInt64, count: Int)] = []
    private var _syncs = 0
    var writes: [(path: String, offset: UInt64, count: Int)] { lock.withLock { _writes } }
    var syncs: Int { lock.withLock { _syncs } }

    func record(_ path: FilePath, _ offset: UInt64, _ count: Int) {
        lock.withLock { _writes.append((path.string, offset, count)) }
    }
    func recordSync() { lock.withLock { _syncs += 1 } }

    func open(_ path: FilePath, create: Bool) throws -> any StorageFile {
        RecordingFile(inner: try base.open(path, create: create), owner: self)
    }
    func openForReading(_ path: FilePath) throws -> any StorageFile { try base.openForReading(path) }
    func readFile(_ path: FilePath) throws -> [UInt8]? { try base.readFile(path) }
    func rename(_ source: FilePath, to destination: FilePath) throws { try base.rename(source, to: destination) }
    func syncDirectory(_ path: FilePath) throws { try base.syncDirectory(path) }
    func remove(_ path: FilePath) throws { try base.remove(path) }
    func removeTree(_ path: FilePath) throws { try base.removeTree(path) }
    func makeDirectory(_ path: FilePath) throws { try base.makeDirectory(path) }
    func makeSymlink(at path: FilePath, pointingTo target: String) throws {
        try base.makeSymlink(at: path, pointingTo: target)
    }
    func readSymlink(_ path: FilePath) throws -> String? { try base.readSymlink(path) }
    func directoryEntries(_ path: FilePath) throws -> [String] { try base.directoryEntries(path) }
    func setPermissions(_ path: FilePath, _ mode: UInt32) throws { try base.setPermissions(path, mode) }
    func fileKind(_ path: FilePath) -> FileKind? { base.fileKind(path) }
}

final class RecordingFile: StorageFile {
    let inner: any StorageFile
    let owner: RecordingStorage
    init(inner: any StorageFile, owner: RecordingStorage) {
        self.inner = inner
        self.owner = owner
    }
    var path: FilePath { inner.path }
    func write(_ bytes: UnsafeRawBufferPointer, at offset: UInt64) throws {
        owner.record(path, offset, bytes.count)
        try inner.write(bytes, at: offset)
    }
    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) throws -> Int {
        try inner.read(into: buffer, at: offset)
    }
    func sync() throws {
        owner.recordSync()
        try inner.sync()
    }
    func truncate(to length: UInt64) throws { try inner.truncate(to: length) }
    func size() throws -> UInt64 { try inner.size() }
    func dropCache() { inner.dropCache() }
    func startWriteBack(offset: UInt64, length: UInt64) { inner.startWriteBack(offset: offset, length: length) }
    func close() throws { try inner.close() }
}
