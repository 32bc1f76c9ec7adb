import Synchronization
import SystemPackage
import TwinslotCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// An in-memory file system implementing `Storage` with the crash model of design.md, so a test
/// can cut the power after any durable operation and see what a real medium could hold:
///
/// - file data: a write or truncate is volatile until `sync()` of that file; at a cut any subset
///   of the volatile ones may persist (in order), and the last write may be torn at 512-byte
///   granularity;
/// - the namespace (create, rename, remove, mkdir, symlink): operations persist in the order they
///   were made (as a journaling file system commits its metadata); one is certainly durable only
///   once `syncDirectory` of its directory ran (which, as a journal commit does, makes every
///   earlier namespace operation durable too); at a cut a prefix of the rest persists.
///
/// Every mutating call is one durable operation, counted; `cutAfter` makes the next one fail
/// with `PowerCut`, and every call after it.
public final class FaultyStorage: Storage {
    enum Node: Equatable {
        case file(Int)
        case directory
        case symlink(String)
    }

    enum DataOp {
        case write(offset: Int, bytes: [UInt8])
        case truncate(Int)
    }

    struct Inode {
        var durable: [UInt8]
        var pending: [(sequence: Int, op: DataOp)] = []
        var current: [UInt8]
    }

    enum NamespaceOp {
        case set(path: String, node: Node?)
    }

    struct State {
        var durableNames: [String: Node] = [:]
        var names: [String: Node] = [:]
        var inodes: [Int: Inode] = [:]
        var pendingNames: [(sequence: Int, path: String, node: Node?)] = []
        var nextInode = 1
        var operations = 0
        var cutAfter: Int?
        var cut = false
        var log: [String] = []
        /// Files whose `sync()` lies (see `makeSyncsLie`).
        var lyingSyncs: Set<String> = []
    }

    let state: Mutex<State>
    /// Record a description of every durable operation (for violation reports).
    public let keepsLog: Bool

    private init(state: State, keepsLog: Bool) {
        self.state = Mutex(state)
        self.keepsLog = keepsLog
    }

    /// A storage holding, all durable, the files, directories and symlinks under `root` on the
    /// real file system (and the directories above it).
    public static func load(from root: String, keepsLog: Bool = false) throws -> FaultyStorage {
        var state = State()
        var ancestor = ""
        for component in root.split(separator: "/") {
            ancestor += "/" + component
            state.names[ancestor] = .directory
        }
        state.names["/"] = .directory
        func walk(_ path: String) throws {
            for name in try PosixStorage().directoryEntries(FilePath(path)) {
                let child = path + "/" + name
                switch PosixStorage().fileKind(FilePath(child)) {
                case .directory:
                    state.names[child] = .directory
                    try walk(child)
                case .symlink:
                    state.names[child] = .symlink(try PosixStorage().readSymlink(FilePath(child)) ?? "")
                case .regular:
                    let bytes = Array(FileManager.default.contents(atPath: child) ?? Data())
                    state.inodes[state.nextInode] = Inode(durable: bytes, current: bytes)
                    state.names[child] = .file(state.nextInode)
                    state.nextInode += 1
                default:
                    continue
                }
            }
        }
        try walk(root)
        state.durableNames = state.names
        return FaultyStorage(state: state, keepsLog: keepsLog)
    }

    /// An independent copy, for running the same story again from the same point.
    public func copy() -> FaultyStorage {
        FaultyStorage(state: state.withLock { $0 }, keepsLog: keepsLog)
    }

    /// Cut the power right after durable operation `count` (0: before the first).
    public func cutPower(after count: Int?) { state.withLock { $0.cutAfter = count } }

    /// From now on `sync()` of these files returns without making their data durable, as a disk
    /// with a volatile cache that ignores flushes would: the way a test breaks the order of
    /// durable writes on purpose (an image journaled STAGED before it is on the medium), to show
    /// the crash harness catches it. The call still counts as a durable operation, so the crash
    /// points stay the same.
    public func makeSyncsLie(for paths: [String]) { state.withLock { $0.lyingSyncs.formUnion(paths) } }

    public var operationCount: Int { state.withLock { $0.operations } }
    public var log: [String] { state.withLock { $0.log } }
    public var isCut: Bool { state.withLock { $0.cut } }

    /// The medium after a power cut with `outcome`: a new storage where everything is durable.
    public func crash(_ outcome: PersistenceOutcome) -> FaultyStorage {
        let old = state.withLock { $0 }
        var generator = SeededGenerator(
            seed: {
                if case .randomSubset(let seed) = outcome { return seed }
                return 0
            }())
        // The last data write of all, for a torn outcome.
        let lastWrite = old.inodes.values.flatMap { inode in
            inode.pending.compactMap { item -> Int? in
                if case .write = item.op { return item.sequence }
                return nil
            }
        }.max()

        var fresh = State()
        fresh.nextInode = old.nextInode
        fresh.lyingSyncs = old.lyingSyncs
        for (id, inode) in old.inodes {
            var bytes = inode.durable
            for (sequence, op) in inode.pending {
                let persists: Bool
                switch outcome {
                case .nothingPersisted: persists = false
                case .everythingPersisted, .tornLastWrite: persists = true
                case .randomSubset: persists = Bool.random(using: &generator)
                }
                guard persists else { continue }
                switch op {
                case .truncate(let length): Self.truncate(&bytes, to: length)
                case .write(let offset, let data):
                    if outcome == .tornLastWrite && sequence == lastWrite {
                        let sectors = (data.count + 511) / 512
                        if sectors > 1 {
                            let kept = Int.random(in: 1..<sectors, using: &generator) * 512
                            Self.write(&bytes, Array(data[..<kept]), at: offset)
                        }
                    } else {
                        Self.write(&bytes, data, at: offset)
                    }
                }
            }
            fresh.inodes[id] = Inode(durable: bytes, current: bytes)
        }
        var names = old.durableNames
        let persistedOps: Int
        switch outcome {
        case .nothingPersisted: persistedOps = 0
        case .everythingPersisted, .tornLastWrite: persistedOps = old.pendingNames.count
        case .randomSubset: persistedOps = Int.random(in: 0...old.pendingNames.count, using: &generator)
        }
        for item in old.pendingNames.prefix(persistedOps) {
            names[item.path] = item.node
        }
        fresh.names = names
        fresh.durableNames = names
        // Inodes no name refers to are gone.
        let live = Set(
            names.values.compactMap { node -> Int? in
                if case .file(let id) = node { return id }
                return nil
            })
        fresh.inodes = fresh.inodes.filter { live.contains($0.key) }
        return FaultyStorage(state: fresh, keepsLog: keepsLog)
    }

    // MARK: - Durable operations

    /// Counts one durable operation, or cuts the power.
    func step(_ state: inout State, _ what: @autoclosure () -> String) throws -> Int {
        if state.cut { throw PowerCut(operation: state.operations + 1) }
        if let limit = state.cutAfter, state.operations >= limit {
            state.cut = true
            throw PowerCut(operation: state.operations + 1)
        }
        state.operations += 1
        if keepsLog { state.log.append(what()) }
        return state.operations
    }

    private func setName(_ state: inout State, _ path: String, _ node: Node?, sequence: Int) {
        state.names[path] = node
        state.pendingNames.append((sequence, path, node))
    }

    /// Plain string work: this runs for every operation of thousands of stories.
    static func normalize(_ path: FilePath) -> String {
        var text = path.string
        if text.contains("/.") || text.contains("//") { text = path.lexicallyNormalized().string }
        while text.utf8.count > 1 && text.hasSuffix("/") { text.removeLast() }
        return text
    }

    static func parent(_ path: String) -> String {
        guard let slash = path.utf8.lastIndex(of: UInt8(ascii: "/")) else { return "." }
        return slash == path.utf8.startIndex ? "/" : String(path[..<slash])
    }

    static func write(_ bytes: inout [UInt8], _ data: [UInt8], at offset: Int) {
        if bytes.count < offset + data.count {
            bytes += [UInt8](repeating: 0, count: offset + data.count - bytes.count)
        }
        bytes.replaceSubrange(offset..<(offset + data.count), with: data)
    }

    static func truncate(_ bytes: inout [UInt8], to length: Int) {
        if bytes.count > length {
            bytes.removeLast(bytes.count - length)
        } else {
            bytes += [UInt8](repeating: 0, count: length - bytes.count)
        }
    }

    /// Follows symlinks in the final component (as open(2) does).
    private func resolve(_ state: State, _ path: String) -> String {
        var current = path
        for _ in 0..<8 {
            guard case .symlink(let target) = state.names[current] else { return current }
            current = target.hasPrefix("/") ? target : Self.parent(current) + "/" + target
            current = Self.normalize(FilePath(current))
        }
        return current
    }

    public func open(_ path: FilePath, create: Bool) throws -> any StorageFile {
        let name = Self.normalize(path)
        let id: Int = try state.withLock { state in
            if state.cut { throw PowerCut(operation: state.operations + 1) }
            let target = resolve(state, name)
            if case .file(let id) = state.names[target] { return id }
            guard state.names[target] == nil else { throw StorageError("open", path, errno: .isDirectory) }
            guard create else { throw StorageError("open", path, errno: .noSuchFileOrDirectory) }
            guard state.names[Self.parent(target)] == .directory else {
                throw StorageError("open", path, errno: .noSuchFileOrDirectory)
            }
            let sequence = try step(&state, "create \(target)")
            let id = state.nextInode
            state.nextInode += 1
            state.inodes[id] = Inode(durable: [], current: [])
            setName(&state, target, .file(id), sequence: sequence)
            return id
        }
        return FaultyFile(storage: self, inode: id, path: path)
    }

    public func openForReading(_ path: FilePath) throws -> any StorageFile {
        try open(path, create: false)
    }

    public func readFile(_ path: FilePath) throws -> [UInt8]? {
        try state.withLock { state in
            if state.cut { throw PowerCut(operation: state.operations + 1) }
            guard case .file(let id) = state.names[resolve(state, Self.normalize(path))] else { return nil }
            return state.inodes[id]?.current
        }
    }

    public func rename(_ source: FilePath, to destination: FilePath) throws {
        let from = Self.normalize(source)
        let to = Self.normalize(destination)
        try state.withLock { state in
            guard let node = state.names[from] else {
                throw StorageError("rename", source, errno: .noSuchFileOrDirectory)
            }
            let sequence = try step(&state, "rename \(from) -> \(to)")
            // Children of a renamed directory move with it.
            let prefix = from + "/"
            for (path, child) in state.names where path.hasPrefix(prefix) {
                setName(&state, path, nil, sequence: sequence)
                setName(&state, to + "/" + path.dropFirst(prefix.count), child, sequence: sequence)
            }
            setName(&state, from, nil, sequence: sequence)
            setName(&state, to, node, sequence: sequence)
        }
    }

    public func syncDirectory(_ path: FilePath) throws {
        let name = Self.normalize(path)
        try state.withLock { state in
            _ = try step(&state, "fsync directory \(name)")
            // A journal commit: every namespace operation so far that touches this directory,
            // and all before it, become durable.
            guard let last = state.pendingNames.lastIndex(where: { Self.parent($0.path) == name || $0.path == name })
            else { return }
            for item in state.pendingNames[...last] { state.durableNames[item.path] = item.node }
            state.pendingNames.removeFirst(last + 1)
        }
    }

    public func remove(_ path: FilePath) throws {
        let name = Self.normalize(path)
        try state.withLock { state in
            guard state.names[name] != nil else { return }
            let sequence = try step(&state, "remove \(name)")
            setName(&state, name, nil, sequence: sequence)
        }
    }

    public func removeTree(_ path: FilePath) throws {
        let name = Self.normalize(path)
        let children = state.withLock { state in
            state.names.keys.filter { $0.hasPrefix(name + "/") }.sorted(by: >)
        }
        for child in children { try remove(FilePath(child)) }
        try remove(path)
    }

    public func makeDirectory(_ path: FilePath) throws {
        let name = Self.normalize(path)
        if fileKind(path) == .directory { return }
        let parent = Self.parent(name)
        if parent != name && fileKind(FilePath(parent)) == nil { try makeDirectory(FilePath(parent)) }
        try state.withLock { state in
            let sequence = try step(&state, "mkdir \(name)")
            setName(&state, name, .directory, sequence: sequence)
        }
    }

    public func makeSymlink(at path: FilePath, pointingTo target: String) throws {
        let name = Self.normalize(path)
        try state.withLock { state in
            guard state.names[name] == nil else { throw StorageError("symlink", path, errno: .fileExists) }
            let sequence = try step(&state, "symlink \(name) -> \(target)")
            setName(&state, name, .symlink(target), sequence: sequence)
        }
    }

    public func readSymlink(_ path: FilePath) throws -> String? {
        state.withLock { state in
            if case .symlink(let target) = state.names[Self.normalize(path)] { return target }
            return nil
        }
    }

    public func fileKind(_ path: FilePath) -> FileKind? {
        state.withLock { state in
            switch state.names[Self.normalize(path)] {
            case .file(let id): .regular(size: UInt64(state.inodes[id]?.current.count ?? 0))
            case .directory: .directory
            case .symlink: .symlink
            case nil: nil
            }
        }
    }

    /// The current (not necessarily durable) content of a file, following symlinks.
    public func contents(_ path: String) -> [UInt8]? {
        try? readFile(FilePath(path))
    }

    public func directoryEntries(_ path: FilePath) throws -> [String] { entries(Self.normalize(path)) }

    /// Counted as a durable operation; the model keeps no permission bits.
    public func setPermissions(_ path: FilePath, _ mode: UInt32) throws {
        let name = Self.normalize(path)
        try state.withLock { state in
            guard state.names[name] != nil else { throw StorageError("chmod", path, errno: .noSuchFileOrDirectory) }
            _ = try step(&state, "chmod \(name) \(String(mode, radix: 8))")
        }
    }

    /// The names directly inside a directory.
    public func entries(_ path: String) -> [String] {
        state.withLock { state in
            state.names.keys.filter { Self.parent($0) == path && $0 != path }.map {
                String($0.dropFirst(path.count + 1))
            }.sorted()
        }
    }
}
