import Synchronization
import SystemPackage
import TwinslotCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The file operations of `FaultyStorage`'s files: each write, truncate and sync is one
/// durable operation of the storage's crash model.
extension FaultyStorage {
    func fileWrite(_ id: Int, _ bytes: [UInt8], at offset: Int, path: FilePath) throws {
        try state.withLock { state in
            let sequence = try step(&state, "write \(bytes.count) bytes at \(offset) of \(path)")
            state.inodes[id]?.pending.append((sequence, .write(offset: offset, bytes: bytes)))
            Self.write(&state.inodes[id]!.current, bytes, at: offset)
        }
    }

    func fileTruncate(_ id: Int, to length: Int, path: FilePath) throws {
        try state.withLock { state in
            let sequence = try step(&state, "truncate \(path) to \(length)")
            state.inodes[id]?.pending.append((sequence, .truncate(length)))
            Self.truncate(&state.inodes[id]!.current, to: length)
        }
    }

    func fileSync(_ id: Int, path: FilePath) throws {
        try state.withLock { state in
            _ = try step(&state, "fsync \(path)")
            if !state.lyingSyncs.contains(path.string), var inode = state.inodes[id] {
                inode.durable = inode.current
                inode.pending = []
                state.inodes[id] = inode
            }
        }
    }

    func fileRead(_ id: Int, into buffer: UnsafeMutableRawBufferPointer, at offset: Int) throws -> Int {
        try state.withLock { state in
            if state.cut { throw PowerCut(operation: state.operations + 1) }
            let bytes = state.inodes[id]?.current ?? []
            guard offset < bytes.count else { return 0 }
            let n = min(buffer.count, bytes.count - offset)
            bytes.withUnsafeBytes { source in
                buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: source[offset..<(offset + n)]))
            }
            return n
        }
    }

    func fileSize(_ id: Int) -> UInt64 {
        state.withLock { UInt64($0.inodes[id]?.current.count ?? 0) }
    }
}

final class FaultyFile: StorageFile {
    let storage: FaultyStorage
    let inode: Int
    let path: FilePath

    init(storage: FaultyStorage, inode: Int, path: FilePath) {
        self.storage = storage
        self.inode = inode
        self.path = path
    }

    func write(_ bytes: UnsafeRawBufferPointer, at offset: UInt64) throws {
        try storage.fileWrite(inode, Array(bytes), at: Int(offset), path: path)
    }

    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) throws -> Int {
        try storage.fileRead(inode, into: buffer, at: Int(offset))
    }

    func sync() throws { try storage.fileSync(inode, path: path) }
    func truncate(to length: UInt64) throws { try storage.fileTruncate(inode, to: Int(length), path: path) }
    func size() throws -> UInt64 { storage.fileSize(inode) }
    func dropCache() {}
    func startWriteBack(offset: UInt64, length: UInt64) {}
    func close() throws {}
}
