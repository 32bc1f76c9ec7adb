import SystemPackage

/// A kernel file of /proc read front to back with plain read(2). Such files report a size of 0
/// and many are seq_files that refuse to seek, so the storage's sized, positioned reads cannot
/// read them (mountinfo, smaps).
public enum ProcFile {
    public static func read(_ path: String) -> [UInt8]? {
        guard let fd = try? FileDescriptor.open(FilePath(path), .readOnly, options: [.closeOnExec]) else { return nil }
        defer { try? fd.close() }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 << 10)
        while true {
            guard let count = try? chunk.withUnsafeMutableBytes({ try fd.read(into: $0, retryOnInterrupt: true) })
            else { return nil }
            if count == 0 { return bytes }
            bytes += chunk[..<count]
        }
    }

    public static func lines(_ path: String) -> [Substring] {
        String(decoding: read(path) ?? [], as: UTF8.self).split(separator: "\n")
    }
}
