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
///
/// /proc/self/smaps is read as bytes, not as a `String`: it is about 7,500 lines, and splitting
/// them into `Character`s cost 230 million instructions, about 0.03 CPU-seconds of every install
/// from a URL (issue 12's profile); scanning bytes costs a few million.
enum LoadTimePages {
    /// The files mapped into this process now, as /proc/self/maps names them.
    static func mappedFiles() -> Set<String> {
        mappedFiles(maps: ProcFile.read("/proc/self/maps") ?? [])
    }

    /// Unmaps the clean, read-only pages of every file mapped now and not in `before`.
    static func release(keeping before: Set<String>) {
        for range in releasable(smaps: ProcFile.read("/proc/self/smaps") ?? [], keeping: before) {
            _ = madvise(UnsafeMutableRawPointer(bitPattern: range.lowerBound), Int(range.count), MADV_DONTNEED)
        }
    }

    /// The files a maps (or smaps) text names.
    static func mappedFiles(maps: [UInt8]) -> Set<String> {
        var files = Set<String>()
        maps.withUnsafeBufferPointer { text in
            forEachLine(text) { line in
                if let path = path(in: line) { files.insert(String(decoding: path, as: UTF8.self)) }
            }
        }
        return files
    }

    /// The address ranges of an smaps text that `release` drops: mappings of a shared object
    /// not in `before`, not writable, whose `Anonymous:` count is 0.
    static func releasable(smaps: [UInt8], keeping before: Set<String>) -> [Range<UInt>] {
        var ranges: [Range<UInt>] = []
        var range: Range<UInt>?
        var candidate = false
        smaps.withUnsafeBufferPointer { text in
            forEachLine(text) { line in
                var fields = Fields(line)
                guard let first = fields.next() else { return }
                if first.last == UInt8(ascii: ":") {
                    guard first.elementsEqual("Anonymous:".utf8) else { return }
                    let anonymous = fields.next().flatMap(decimal) ?? 1
                    if let range, candidate, anonymous == 0 { ranges.append(range) }
                    candidate = false
                    return
                }
                // A mapping's header: start-end perms offset dev inode [path].
                guard let dash = first.firstIndex(of: UInt8(ascii: "-")),
                    let start = hexadecimal(first[..<dash]),
                    let end = hexadecimal(first[(dash + 1)...]), start <= end,
                    let permissions = fields.next()
                else { return }
                range = start..<end
                candidate = false
                if let path = path(in: line), !permissions.contains(UInt8(ascii: "w")), contains(path, ".so") {
                    candidate = !before.contains(String(decoding: path, as: UTF8.self))
                }
            }
        }
        return ranges
    }

    typealias Bytes = Slice<UnsafeBufferPointer<UInt8>>

    private static func forEachLine(_ text: UnsafeBufferPointer<UInt8>, _ body: (Bytes) -> Void) {
        var rest = text[...]
        while !rest.isEmpty {
            let end = rest.firstIndex(of: UInt8(ascii: "\n")) ?? rest.endIndex
            body(rest[..<end])
            rest = rest[min(end + 1, rest.endIndex)...]
        }
    }

    /// The fields of a line, separated by runs of spaces.
    private struct Fields: IteratorProtocol {
        var rest: Bytes
        init(_ line: Bytes) { rest = line }

        mutating func next() -> Bytes? {
            rest = rest.drop { $0 == UInt8(ascii: " ") }
            guard !rest.isEmpty else { return nil }
            let end = rest.firstIndex(of: UInt8(ascii: " ")) ?? rest.endIndex
            defer { rest = rest[end...] }
            return rest[..<end]
        }
    }

    /// The file a maps line names: what follows the fifth field (the inode), if it is a path.
    private static func path(in line: Bytes) -> Bytes? {
        var fields = Fields(line)
        for _ in 0..<5 {
            if fields.next() == nil { return nil }
        }
        let rest = fields.rest.drop { $0 == UInt8(ascii: " ") }
        return rest.first == UInt8(ascii: "/") ? rest : nil
    }

    private static func contains(_ bytes: Bytes, _ needle: StaticString) -> Bool {
        let needle = UnsafeBufferPointer(start: needle.utf8Start, count: needle.utf8CodeUnitCount)
        guard bytes.count >= needle.count else { return false }
        var start = bytes.startIndex
        while start + needle.count <= bytes.endIndex {
            if bytes[start..<(start + needle.count)].elementsEqual(needle) { return true }
            start += 1
        }
        return false
    }

    private static func hexadecimal(_ digits: Bytes) -> UInt? {
        guard !digits.isEmpty, digits.count <= 16 else { return nil }
        var value: UInt = 0
        for byte in digits {
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: return nil
            }
            value = value << 4 | UInt(digit)
        }
        return value
    }

    private static func decimal(_ digits: Bytes) -> Int? {
        guard !digits.isEmpty, digits.count <= 18 else { return nil }
        var value = 0
        for byte in digits {
            guard byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") else { return nil }
            value = value * 10 + Int(byte - UInt8(ascii: "0"))
        }
        return value
    }
}
