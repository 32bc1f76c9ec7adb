#if canImport(Glibc)
    import Glibc
#endif

/// Who holds the install lock, for the Busy error: "held by pid 4242 (twinslot install
/// /tmp/u.tsb)" tells an operator what to wait for. flock(2) does not say, but the kernel lists
/// every lock in /proc/locks with the holder's pid and the file's device and inode.
enum LockHolder {
    static func describe(lockPath: String) -> String? {
        var info = stat()
        guard stat(lockPath, &info) == 0 else { return nil }
        // "1: FLOCK  ADVISORY  WRITE 4242 08:01:1234567 0 EOF": major:minor in hex, inode decimal.
        let dev = UInt64(info.st_dev)
        let major = ((dev >> 8) & 0xfff) | ((dev >> 32) & ~0xfff)
        let minor = (dev & 0xff) | ((dev >> 12) & ~0xff)
        let identity = hex(major) + ":" + hex(minor) + ":\(info.st_ino)"
        guard let locks = readText("/proc/locks") else { return nil }
        for line in locks.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 6, fields[1] == "FLOCK", fields[5] == identity, let pid = Int32(fields[4]) else {
                continue
            }
            let command = readText("/proc/\(pid)/cmdline")?.split(separator: "\0").joined(separator: " ")
            return "held by pid \(pid)" + (command.map { " (\($0))" } ?? "")
        }
        return nil
    }

    private static func hex(_ value: UInt64) -> String {
        let text = String(value, radix: 16)
        return text.count < 2 ? "0" + text : text
    }

    private static func readText(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = read(fd, &buffer, buffer.count)
            if count <= 0 { break }
            bytes += buffer[0..<count]
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
