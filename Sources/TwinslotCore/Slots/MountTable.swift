import SystemPackage

#if canImport(Glibc)
    import Glibc
#endif

/// The kernel's mount table (/proc/self/mountinfo): whether a block device holds a mounted file
/// system, so that an install never writes over the running root or the data partition.
enum MountTable {
    /// Where the device's file system is mounted, or nil (also when the table cannot be read).
    static func mountPoint(ofDevice path: FilePath, storage: any Storage) -> String? {
        // Only a real block device can be mounted; the crash harness's storage has none.
        guard storage is PosixStorage else { return nil }
        var info = stat()
        guard stat(path.string, &info) == 0, let bytes = ProcFile.read("/proc/self/mountinfo") else { return nil }
        // glibc's gnu_dev_major/gnu_dev_minor, which Swift does not import as macros.
        let device = UInt64(info.st_rdev)
        let major = ((device >> 8) & 0xfff) | ((device >> 32) & ~0xfff)
        let minor = (device & 0xff) | ((device >> 12) & ~0xff)
        let wanted = "\(major):\(minor)"
        for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") {
            // mount-id parent-id major:minor root mount-point options ...
            let fields = line.split(separator: " ", maxSplits: 5)
            if fields.count > 4, fields[2] == wanted { return String(fields[4]) }
        }
        return nil
    }
}
