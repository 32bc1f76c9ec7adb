import TwinslotCore

#if canImport(Glibc)
    import Glibc
#endif

/// Gives back the pages that loading libcurl touched and nothing reads again.
///
/// Why: Debian's libcurl pulls in about 30 libraries (GnuTLS through librtmp, Kerberos, LDAP,
/// libssh2, nghttp2, …). Loading them maps and relocates each one and runs its constructors,
/// and the kernel's fault-around maps up to 16 pages per fault: about 4.5 MiB of resident
/// library pages, more than the whole budget for an install from a URL over one from a file
/// (issue 12: file install + 4 MiB). An http(s) transfer then runs only in libcurl, libssl and
/// libcrypto, so most of those pages are never touched again.
///
/// What is dropped is safe to drop: read-only mappings of the files that loading libcurl added,
/// holding no private (anonymous) page. Those are the page cache's pages, mapped; `MADV_DONTNEED`
/// unmaps them from this process only, and a later access maps them again (a minor fault).
/// Mappings with private pages, such as RELRO segments after relocation, are left alone: dropping
/// them would lose the relocations.
enum LoadTimePages {
    /// The files mapped into this process now, as /proc/self/maps names them.
    static func mappedFiles() -> Set<String> {
        var files = Set<String>()
        for line in ProcFile.lines("/proc/self/maps") {
            if let path = path(in: line) { files.insert(path) }
        }
        return files
    }

    /// Unmaps the clean, read-only pages of every file mapped now and not in `before`.
    static func release(keeping before: Set<String>) {
        var range: (start: UInt, end: UInt)?
        var candidate = false
        func finish(anonymous: Int) {
            guard let range, candidate, anonymous == 0 else { return }
            _ = madvise(UnsafeMutableRawPointer(bitPattern: range.start), Int(range.end - range.start), MADV_DONTNEED)
        }
        for line in ProcFile.lines("/proc/self/smaps") {
            let fields = line.split(separator: " ")
            if let first = fields.first, first.contains("-"), !first.hasSuffix(":"), fields.count >= 5 {
                let bounds = first.split(separator: "-")
                guard bounds.count == 2, let start = UInt(bounds[0], radix: 16), let end = UInt(bounds[1], radix: 16)
                else { continue }
                range = (start, end)
                let permissions = fields[1]
                candidate = false
                if let path = path(in: line) {
                    candidate = !before.contains(path) && !permissions.contains("w") && path.contains(".so")
                }
            } else if fields.first == "Anonymous:", fields.count >= 2 {
                finish(anonymous: Int(fields[1]) ?? 1)
                candidate = false
            }
        }
    }

    /// The file a maps line names: what follows the fifth field (the inode), if it is a path.
    private static func path(in line: Substring) -> String? {
        var rest = line[...]
        for _ in 0..<5 {
            rest = rest.drop { $0 != " " }.drop { $0 == " " }
        }
        return rest.hasPrefix("/") ? String(rest) : nil
    }
}
