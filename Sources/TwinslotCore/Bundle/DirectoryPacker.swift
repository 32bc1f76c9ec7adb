import SystemPackage

#if canImport(Glibc)
    import Glibc
#endif

/// Packs a directory tree into a tar image for a directory slot: regular files, directories and
/// symlinks, in sorted order, owned by root, so the same tree gives the same image.
enum DirectoryPacker {
    static func pack(directory: String, into output: String) throws {
        let fd = try FileDescriptor.open(
            FilePath(output), .writeOnly, options: [.create, .truncate, .closeOnExec],
            permissions: [.ownerReadWrite, .groupRead, .otherRead])
        defer { try? fd.close() }
        let tar = try TarStreamWriter(fileDescriptor: fd.rawValue)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 4096)
        defer { buffer.deallocate() }
        try walk(root: directory, relative: "", tar: tar, buffer: buffer)
        try tar.close()
    }

    private static func walk(
        root: String, relative: String, tar: TarStreamWriter, buffer: UnsafeMutableRawBufferPointer
    ) throws {
        let storage = PosixStorage()
        let here = relative.isEmpty ? root : root + "/" + relative
        for name in try storage.directoryEntries(FilePath(here)) {
            let path = here + "/" + name
            let member = relative.isEmpty ? name : relative + "/" + name
            var info = stat()
            guard lstat(path, &info) == 0 else {
                throw BundleError.unreadable(path: path, reason: "lstat failed")
            }
            let mode = UInt32(info.st_mode & 0o7777)
            let mtime = Int(info.st_mtim.tv_sec)
            switch info.st_mode & S_IFMT {
            case S_IFDIR:
                try tar.addEntry(name: member, kind: .directory, size: 0, mode: mode, modificationTime: mtime)
                try walk(root: root, relative: member, tar: tar, buffer: buffer)
            case S_IFLNK:
                let target = try storage.readSymlink(FilePath(path)) ?? ""
                try tar.addEntry(
                    name: member, kind: .symlink(target: target), size: 0, mode: mode, modificationTime: mtime)
            case S_IFREG:
                try tar.addEntry(
                    name: member, kind: .regular, size: UInt64(info.st_size), mode: mode, modificationTime: mtime)
                let source = try FileByteSource(path: path)
                while true {
                    let n = try source.read(into: buffer)
                    if n == 0 { break }
                    try tar.write(UnsafeRawBufferPointer(rebasing: buffer[..<n]))
                }
                try tar.finishFile()
            default:
                throw BundleError.unreadable(path: path, reason: "only files, directories and symlinks can be packed")
            }
        }
    }
}
