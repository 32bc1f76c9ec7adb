import CLinux
import SystemPackage

#if canImport(Glibc)
    import Glibc
#endif

/// Opens `path` read-only as user `uid`/`gid` would (with none of this process's groups): the
/// kernel checks every directory on the way and the file against that user. Only the calling
/// thread's file-system identity changes, and only for the open (CLinux's `ts_open_as_user`).
/// Non-blocking, so that a FIFO cannot hang the open; the caller decides what kind of file it
/// accepts.
public func openAsUser(_ path: String, uid: UInt32, gid: UInt32) -> Result<FileDescriptor, Errno> {
    let fd = path.withCString { ts_open_as_user($0, uid, gid) }
    guard fd >= 0 else { return .failure(Errno(rawValue: errno)) }
    return .success(FileDescriptor(rawValue: fd))
}
