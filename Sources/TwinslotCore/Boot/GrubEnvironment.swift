import SystemPackage

/// GRUB's environment block (`grubenv`), as `grub-editenv` and GRUB's `load_env`/`save_env`
/// read and write it: exactly 1024 bytes, starting with `# GRUB Environment Block\n`, then
/// `name=value\n` lines, padded to the end with `#`. In a value, a backslash is written `\\`
/// and a newline `\` followed by the newline; any other backslash pair reads as its second
/// character. Lines starting with `#` are comments (grub-editenv 2.12 writes a `# WARNING`
/// line); they are kept.
///
/// Writing is **in place**: the existing file is opened, the new block written at offset 0 and
/// synced, never replaced by a rename, because GRUB reads the file through its block list and
/// itself only ever rewrites it in place.
///
/// Power-cut safety: a write may tear at 512-byte granularity. The serializer keeps every line
/// inside the first 512-byte sector whenever the content fits there, so the second sector stays
/// pure `#` padding; when the second sector's bytes do not change, only the first sector is
/// written, and a one-sector write either happens or not. When the content does not fit in one
/// sector, lines are never split across the sector boundary (the first sector ends with a `#…#\n`
/// filler comment), and callers put the variables that matter for booting first (GrubBackend
/// does), so a torn write leaves them all-old or all-new; only later variables can mix.
public struct GrubEnvironment: Sendable, Equatable {
    public static let blockSize = 1024
    public static let sectorSize = 512
    public static let signature = "# GRUB Environment Block\n"

    public struct Variable: Sendable, Equatable {
        public var name: String
        public var value: String
        public init(name: String, value: String) {
            self.name = name
            self.value = value
        }
    }

    /// In file order; a name appears once.
    public private(set) var variables: [Variable]
    /// Comment lines (with their leading `#`, without the newline), other than padding and
    /// filler; written right after the header.
    public var comments: [String]

    public init(variables: [Variable] = [], comments: [String] = []) {
        self.variables = []
        self.comments = comments
        for variable in variables { self[variable.name] = variable.value }
    }

    public subscript(name: String) -> String? {
        get { variables.first { $0.name == name }?.value }
        set {
            if let index = variables.firstIndex(where: { $0.name == name }) {
                if let newValue { variables[index].value = newValue } else { variables.remove(at: index) }
            } else if let newValue {
                variables.append(Variable(name: name, value: newValue))
            }
        }
    }

    /// Moves the named variables (those present) to the front, in the given order.
    public mutating func moveToFront(_ names: [String]) {
        let front = names.compactMap { name in variables.first { $0.name == name } }
        variables = front + variables.filter { !names.contains($0.name) }
    }

    // MARK: parsing

    /// Parses a block; `source` names the file in errors. Refuses a wrong size or a bad header.
    /// Lines are read as GRUB reads them: a line without `=` or an unterminated value ends the
    /// scan (GRUB stops there too); a later duplicate of a name wins, as in GRUB.
    public init(parsing bytes: [UInt8], source: String) throws {
        guard bytes.count == Self.blockSize else {
            throw BootError.state(
                "\(source): a GRUB environment block is \(Self.blockSize) bytes, this one is \(bytes.count)")
        }
        let header = Array(Self.signature.utf8)
        guard bytes.starts(with: header) else {
            throw BootError.state("\(source): not a GRUB environment block (missing '# GRUB Environment Block' header)")
        }
        self.variables = []
        self.comments = []
        let end = bytes.count
        var p = header.count
        let newline = UInt8(ascii: "\n")
        scan: while p < end {
            if bytes[p] == UInt8(ascii: "#") {
                let start = p
                while p < end && bytes[p] != newline { p += 1 }
                let line = bytes[start..<p]
                // Padding (unterminated) and filler (all '#') are not comments.
                if p < end && line.contains(where: { $0 != UInt8(ascii: "#") }) {
                    comments.append(String(decoding: line, as: UTF8.self))
                }
                p += 1
                continue
            }
            let nameStart = p
            while p < end && bytes[p] != UInt8(ascii: "=") { p += 1 }
            if p == end { break scan }
            let name = String(decoding: bytes[nameStart..<p], as: UTF8.self)
            p += 1
            var value: [UInt8] = []
            while true {
                if p >= end { break scan }
                let byte = bytes[p]
                if byte == newline { break }
                if byte == UInt8(ascii: "\\") {
                    p += 1
                    if p >= end { break scan }
                    value.append(bytes[p])
                } else {
                    value.append(byte)
                }
                p += 1
            }
            p += 1
            self[name] = String(decoding: value, as: UTF8.self)
        }
    }

    // MARK: serializing

    static func escape(_ value: String) -> [UInt8] {
        var out: [UInt8] = []
        for byte in value.utf8 {
            if byte == UInt8(ascii: "\\") || byte == UInt8(ascii: "\n") { out.append(UInt8(ascii: "\\")) }
            out.append(byte)
        }
        return out
    }

    /// The 1024-byte block. Throws when a name is not valid or the content overflows the block;
    /// `source` names the file in errors.
    public func serialized(source: String = "grubenv") throws -> [UInt8] {
        var lines: [[UInt8]] = comments.map { Array($0.utf8) + [UInt8(ascii: "\n")] }
        for variable in variables {
            let name = variable.name
            guard !name.isEmpty, !name.contains("="), !name.contains("\n"), !name.hasPrefix("#") else {
                throw BootError.state("\(source): '\(name)' is not a valid GRUB environment variable name")
            }
            lines.append(Array(name.utf8) + [UInt8(ascii: "=")] + Self.escape(variable.value) + [UInt8(ascii: "\n")])
        }
        let header = Array(Self.signature.utf8)
        let hash = UInt8(ascii: "#")
        let plain = header + lines.joined()
        if plain.count <= Self.sectorSize {
            return plain + [UInt8](repeating: hash, count: Self.blockSize - plain.count)
        }
        // Overflow into the second sector: whole lines only in the first, then a filler comment
        // that ends exactly at byte 511, so no line straddles the sector boundary.
        var first = header
        var index = 0
        while index < lines.count {
            let after = first.count + lines[index].count
            // Either the line ends the sector exactly, or it leaves room for a "#\n" filler.
            guard after == Self.sectorSize || after <= Self.sectorSize - 2 else { break }
            first += lines[index]
            index += 1
        }
        if first.count < Self.sectorSize {
            first += [UInt8](repeating: hash, count: Self.sectorSize - first.count - 1) + [UInt8(ascii: "\n")]
        }
        let second = Array(lines[index...].joined())
        if second.count <= Self.sectorSize {
            return first + second + [UInt8](repeating: hash, count: Self.sectorSize - second.count)
        }
        if plain.count <= Self.blockSize {
            // A line longer than a sector: it has to straddle; the plain layout still fits.
            return plain + [UInt8](repeating: hash, count: Self.blockSize - plain.count)
        }
        throw BootError.state(
            "\(source): the GRUB environment needs \(plain.count) bytes, more than the \(Self.blockSize)-byte block")
    }

    // MARK: file I/O

    /// Reads and parses the block at `path`; a missing file is an error naming it.
    public static func read(from path: FilePath, storage: any Storage) throws -> GrubEnvironment {
        guard let bytes = try storage.readFile(path) else {
            throw BootError.io("\(path): GRUB environment block not found")
        }
        return try GrubEnvironment(parsing: bytes, source: path.string)
    }

    /// Rewrites the existing block at `path` in place (see the type's documentation): refuses a
    /// file that is not a valid block, writes only the first sector when the second is
    /// unchanged, nothing when nothing changed, and syncs before returning.
    public func write(to path: FilePath, storage: any Storage) throws {
        let new = try serialized(source: path.string)
        guard let old = try storage.readFile(path) else {
            throw BootError.io("\(path): GRUB environment block not found (it is rewritten in place, never created)")
        }
        _ = try GrubEnvironment(parsing: old, source: path.string)
        if old == new { return }
        let sector = Self.sectorSize
        let bytes = old[sector...].elementsEqual(new[sector...]) ? Array(new[..<sector]) : new
        try Self.writeInPlace(bytes, to: path, storage: storage, create: false)
    }

    /// Creates (or overwrites in place) the block at `path`, for provisioning: the file is
    /// written, synced, and its directory synced.
    public func create(at path: FilePath, storage: any Storage) throws {
        let bytes = try serialized(source: path.string)
        try Self.writeInPlace(bytes, to: path, storage: storage, create: true)
        try storage.syncDirectory(path.removingLastComponent())
    }

    private static func writeInPlace(_ bytes: [UInt8], to path: FilePath, storage: any Storage, create: Bool) throws {
        let file = try storage.open(path, create: create)
        do {
            try file.write(bytes, at: 0)
            if create, try file.size() > UInt64(blockSize) { try file.truncate(to: UInt64(blockSize)) }
            try file.sync()
            try file.close()
        } catch {
            try? file.close()
            throw error
        }
    }
}
