/// The rules for the tar inside a directory image, in one place: `bundle verify` (which streams
/// the image and writes nothing, `ImageTarCheckSink`) and install (`DirectorySlotWriter`) both
/// walk the image through `walk`, so a bundle that verifies is one that installs. Every refusal
/// is a bad bundle (exit 10) naming the image, the entry and the reason.
public struct ImageTarRules {
    private enum Seen { case directory, file, symlink }

    public let member: String
    /// Every path the image has defined so far, relative to the slot ("" is the slot itself).
    private var seen: [String: Seen] = [:]
    private var rootSeen = false

    public init(member: String) { self.member = member }

    private func refuse(_ entry: String, _ reason: String) -> BundleError {
        .imageEntry(member: member, entry: entry, reason: reason)
    }

    /// A byte that would make a name lie on a terminal or in a log (a newline forges a line).
    static func controlByte(_ text: String) -> UInt8? {
        text.utf8.first { $0 < 0x20 || $0 == 0x7f }
    }

    /// Checks one entry against everything before it and returns its path relative to the slot
    /// ("" for the slot directory itself, "./" in the tar).
    public mutating func admit(_ entry: TarEntry) throws -> String {
        let name = entry.name
        if name.isEmpty { throw refuse(name, "empty name") }
        if let byte = Self.controlByte(name) {
            throw refuse(name, "the name contains the control character 0x\(String(byte, radix: 16))")
        }
        if name.hasPrefix("/") { throw refuse(name, "absolute path") }
        let components = name.split(separator: "/").filter { $0 != "." }
        if components.contains("..") { throw refuse(name, "contains '..'") }
        switch entry.kind {
        case .regular where entry.isSparse: throw refuse(name, "a sparse file; sparse entries are not allowed")
        case .regular, .directory: break
        case .symlink(let target):
            if target.isEmpty { throw refuse(name, "a symbolic link with an empty target") }
            if let byte = Self.controlByte(target) {
                throw refuse(name, "the link target contains the control character 0x\(String(byte, radix: 16))")
            }
        case .hardlink(let target): throw refuse(name, "a hard link (to '\(target)'); hard links are not allowed")
        case .device: throw refuse(name, "a device node; device nodes are not allowed")
        case .fifo: throw refuse(name, "a FIFO; FIFOs are not allowed")
        case .other: throw refuse(name, "a special file (a socket or an unknown type)")
        }
        let relative = components.joined(separator: "/")
        if relative.isEmpty {
            guard entry.kind == .directory else { throw refuse(name, "names the slot directory itself") }
            guard !rootSeen else { throw refuse(name, "appears twice") }
            rootSeen = true
            return ""
        }
        var prefix = ""
        for component in components.dropLast() {
            prefix += prefix.isEmpty ? String(component) : "/" + component
            switch seen[prefix] {
            case .directory: continue
            case .symlink: throw refuse(name, "the path goes through the symbolic link '\(prefix)'")
            case .file: throw refuse(name, "the path goes through the file '\(prefix)'")
            case nil: throw refuse(name, "its directory '\(prefix)' is not in the image before it")
            }
        }
        guard seen[relative] == nil else { throw refuse(name, "appears twice") }
        switch entry.kind {
        case .directory: seen[relative] = .directory
        case .symlink: seen[relative] = .symlink
        default: seen[relative] = .file
        }
        return relative
    }

    /// Reads the image tar from `source` to its end, checking every entry, its data (no sparse
    /// holes) and the end of the archive. `extract` gets each admitted entry with its relative
    /// path and may read a regular file's blocks; what it leaves unread is read and dropped.
    /// Errors of the source (I/O) come out as they are; everything about the tar is `BundleError`.
    public static func walk(
        source: any ByteSource, member: String,
        extract: ((TarEntry, String, TarStreamReader) throws -> Void)? = nil
    ) throws {
        var rules = ImageTarRules(member: member)
        do {
            let reader = try TarStreamReader(source: source)
            while let entry = try reader.nextEntry() {
                let relative = try rules.admit(entry)
                try extract?(entry, relative, reader)
                if case .regular = entry.kind { while try reader.nextBlock() != nil {} }
            }
        } catch let violation as TarFormatViolation {
            throw BundleError.imageEntry(member: member, entry: violation.entry, reason: violation.reason)
        } catch let error as TarReadError {
            throw BundleError.imageEntry(member: member, entry: nil, reason: "not a valid tar archive: \(error)")
        }
    }
}
