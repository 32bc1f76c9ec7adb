import CLinux
import SystemPackage

#if canImport(Glibc)
    import Glibc
#endif

/// One install (or boot-time recovery) at a time. An advisory `flock` on `<data>/lock`: the
/// kernel drops it when the holder dies, so a crash never leaves a stuck lock.
public final class InstallLock {
    private let fd: Int32
    public let path: String

    /// Takes the lock, or throws `InstallError.busy` at once when another process holds it.
    /// A missing data directory (a fresh data partition) is created first: the lock lives in it.
    public init(dataDirectory: String, wait: Bool = false) throws {
        path = dataDirectory + "/lock"
        try PosixStorage().makeDirectory(FilePath(dataDirectory))
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw InstallError.lockUnavailable(path: path, errno: errno) }
        if flock(fd, LOCK_EX | (wait ? 0 : LOCK_NB)) != 0 {
            let code = errno
            close(fd)
            if code == EWOULDBLOCK { throw InstallError.busy(lock: path) }
            throw InstallError.lockUnavailable(path: path, errno: code)
        }
        self.fd = fd
    }

    deinit {
        flock(fd, LOCK_UN)
        close(fd)
    }
}
