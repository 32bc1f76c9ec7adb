import SystemPackage

/// One copy of a U-Boot environment: a device or file, the byte offset of the copy in it, and
/// the environment size (one line of `fw_env.config`).
public struct UBootEnvironmentCopy: Sendable, Equatable {
    public var path: FilePath
    public var offset: UInt64
    public var size: Int

    public init(path: FilePath, offset: UInt64, size: Int) {
        self.path = path
        self.offset = offset
        self.size = size
    }
}

/// Where the environment lives: one copy (single layout) or two (redundant layout), as in
/// `fw_env.config`.
public struct UBootEnvironmentConfig: Sendable, Equatable {
    public var copies: [UBootEnvironmentCopy]
    public var redundant: Bool { copies.count == 2 }

    public init(copies: [UBootEnvironmentCopy]) throws {
        guard copies.count == 1 || copies.count == 2 else {
            throw BootError.config("a U-Boot environment has one or two copies, not \(copies.count)")
        }
        if copies.count == 2 && copies[0].size != copies[1].size {
            throw BootError.config("the two U-Boot environment copies differ in size")
        }
        let minimum = copies.count == 2 ? 6 : 5
        for copy in copies where copy.size < minimum {
            throw BootError.config("\(copy.path): U-Boot environment size \(copy.size) is too small")
        }
        self.copies = copies
    }

    /// Parses `fw_env.config` text as libubootenv does: `#` lines and lines with fewer than three
    /// fields are skipped; fields are device, offset (decimal, `0x` hex or leading-`0` octal),
    /// environment size (always hexadecimal, `0x` optional); further fields (sector size, sector
    /// count) are ignored; the first two entries are used. `source` names the file in errors.
    /// Negative (from the end of a block device) offsets are not supported.
    public init(parsing text: String, source: String = "fw_env.config") throws {
        var copies: [UBootEnvironmentCopy] = []
        for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            if line.hasPrefix("#") { continue }
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" })
            guard fields.count >= 3 else { continue }
            guard let offset = Self.parseOffset(String(fields[1])) else {
                throw BootError.config("\(source):\(number + 1): bad offset '\(fields[1])'")
            }
            var sizeText = String(fields[2])
            if sizeText.lowercased().hasPrefix("0x") { sizeText.removeFirst(2) }
            guard let size = Int(sizeText, radix: 16), size > 0 else {
                throw BootError.config("\(source):\(number + 1): bad environment size '\(fields[2])'")
            }
            copies.append(UBootEnvironmentCopy(path: FilePath(String(fields[0])), offset: offset, size: size))
            if copies.count == 2 { break }
        }
        guard !copies.isEmpty else { throw BootError.config("\(source): no environment device line") }
        try self.init(copies: copies)
    }

    static func parseOffset(_ text: String) -> UInt64? {
        let lower = text.lowercased()
        if lower.hasPrefix("0x") { return UInt64(lower.dropFirst(2), radix: 16) }
        if lower.count > 1 && lower.hasPrefix("0") { return UInt64(lower.dropFirst(), radix: 8) }
        return UInt64(lower)
    }

    /// Reads and parses a `fw_env.config` file.
    public static func load(from path: FilePath, storage: any Storage) throws -> UBootEnvironmentConfig {
        guard let bytes = try storage.readFile(path) else {
            throw BootError.config("\(path): U-Boot environment configuration not found")
        }
        return try UBootEnvironmentConfig(parsing: String(decoding: bytes, as: UTF8.self), source: path.string)
    }
}

/// The variables of a U-Boot environment, and the image format.
///
/// Single layout: `CRC32 (4 bytes, little endian) | data`; redundant layout, per copy:
/// `CRC32 | flags (1 byte) | data`. The CRC (zlib's) covers the whole data area, which holds
/// `name=value\0` entries, an empty entry (`\0`) ending the list, and 0x00 bytes to the end (as
/// U-Boot's `saveenv` pads; `fw_setenv` leaves whatever its buffer held, which is also 0x00 on a
/// zero-filled device). Entries are written sorted by name, as U-Boot and libubootenv do.
public struct UBootEnvironment: Sendable, Equatable {
    public var variables: [String: String]

    public init(variables: [String: String] = [:]) { self.variables = variables }

    public subscript(name: String) -> String? {
        get { variables[name] }
        set { variables[name] = newValue }
    }

    /// The data area: entries, terminator, zero padding to `size` bytes.
    public func encodeData(size: Int, source: String) throws -> [UInt8] {
        var data: [UInt8] = []
        for name in variables.keys.sorted() {
            let value = variables[name] ?? ""
            guard !name.isEmpty, !name.contains("="), !name.utf8.contains(0), !value.utf8.contains(0) else {
                throw BootError.state("\(source): '\(name)' is not a valid U-Boot environment variable")
            }
            data += Array(name.utf8) + [UInt8(ascii: "=")] + Array(value.utf8) + [0]
        }
        data.append(0)
        if data.count == 1 { data.append(0) }  // an empty environment still reads as "\0\0"
        guard data.count <= size else {
            throw BootError.state(
                "\(source): the U-Boot environment needs \(data.count) bytes, more than its \(size)-byte data area")
        }
        return data + [UInt8](repeating: 0, count: size - data.count)
    }

    /// One copy's image: CRC, the flag byte when `flags` is given (redundant layout), data.
    public func encodeImage(size: Int, flags: UInt8?, source: String) throws -> [UInt8] {
        let header = flags == nil ? 4 : 5
        let data = try encodeData(size: size - header, source: source)
        let crc = CRC32.checksum(data)
        var image = [UInt8(crc & 0xFF), UInt8((crc >> 8) & 0xFF), UInt8((crc >> 16) & 0xFF), UInt8(crc >> 24)]
        if let flags { image.append(flags) }
        return image + data
    }

    /// A decoded copy: its variables when the CRC matches (nil otherwise), and its flag byte.
    public struct DecodedCopy: Sendable, Equatable {
        public var environment: UBootEnvironment?
        public var flags: UInt8?
    }

    /// Decodes one copy's image; `redundant` says whether it has a flag byte.
    public static func decodeImage(_ image: [UInt8], redundant: Bool) -> DecodedCopy {
        let header = redundant ? 5 : 4
        guard image.count > header else { return DecodedCopy(environment: nil, flags: nil) }
        let stored = UInt32(image[0]) | UInt32(image[1]) << 8 | UInt32(image[2]) << 16 | UInt32(image[3]) << 24
        let flags = redundant ? image[4] : nil
        let data = image[header...]
        guard CRC32.checksum(data) == stored else { return DecodedCopy(environment: nil, flags: flags) }
        var variables: [String: String] = [:]
        var start = data.startIndex
        while start < data.endIndex, data[start] != 0 {
            guard let end = data[start...].firstIndex(of: 0) else { break }
            let entry = data[start..<end]
            if let equals = entry.firstIndex(of: UInt8(ascii: "=")) {
                let name = String(decoding: entry[..<equals], as: UTF8.self)
                variables[name] = String(decoding: entry[(equals + 1)...], as: UTF8.self)
            }
            start = end + 1
        }
        return DecodedCopy(environment: UBootEnvironment(variables: variables), flags: flags)
    }

    /// Which copy is current among decoded copies, by libubootenv's and U-Boot's rule: a copy
    /// with a good CRC beats one without; of two good copies the higher flag wins, except that
    /// 0 beats 0xFF (the counter wrapped); equal flags choose the first copy.
    public static func activeIndex(_ copies: [DecodedCopy]) -> Int? {
        let valid = copies.map { $0.environment != nil }
        switch (valid.first ?? false, valid.count > 1 ? valid[1] : false) {
        case (false, false): return nil
        case (true, false): return 0
        case (false, true): return 1
        case (true, true):
            let f0 = copies[0].flags ?? 0
            let f1 = copies[1].flags ?? 0
            if f0 == 0xFF && f1 == 0 { return 1 }
            if f1 == 0xFF && f0 == 0 { return 0 }
            return f1 > f0 ? 1 : 0
        }
    }
}

/// Reads and writes the environment described by a `UBootEnvironmentConfig`, through `Storage`.
///
/// Redundant layout: a write builds the whole new image and writes it to the **inactive** copy
/// with the active copy's flag + 1 (mod 256), then syncs; the active copy is never touched, so a
/// power cut at any instant leaves the old copy valid and current (a torn new copy fails its
/// CRC). Single layout: the one copy is rewritten in place and synced; this is not power-safe
/// (a torn write fails the CRC and U-Boot falls back to its built-in default environment), as
/// U-Boot's own documentation says of a non-redundant environment.
public struct UBootEnvironmentStore: Sendable {
    public let config: UBootEnvironmentConfig
    public let storage: any Storage

    public init(config: UBootEnvironmentConfig, storage: any Storage) {
        self.config = config
        self.storage = storage
    }

    /// The state of the copies on the medium.
    public struct Snapshot: Sendable, Equatable {
        public var copies: [UBootEnvironment.DecodedCopy]
        /// The current copy, nil when no copy has a valid CRC.
        public var activeIndex: Int?
        public var environment: UBootEnvironment? { activeIndex.flatMap { copies[$0].environment } }
    }

    public func snapshot() throws -> Snapshot {
        var decoded: [UBootEnvironment.DecodedCopy] = []
        for copy in config.copies {
            let image = try readImage(copy)
            decoded.append(UBootEnvironment.decodeImage(image, redundant: config.redundant))
        }
        return Snapshot(copies: decoded, activeIndex: UBootEnvironment.activeIndex(decoded))
    }

    /// The current environment; an error naming the device(s) when no copy is valid.
    public func read() throws -> UBootEnvironment {
        guard let env = try snapshot().environment else {
            let names = config.copies.map { "\($0.path)@\($0.offset)" }.joined(separator: ", ")
            throw BootError.state("\(names): no U-Boot environment copy with a valid CRC")
        }
        return env
    }

    /// Writes `environment` as described in the type's documentation. With no valid copy, the
    /// redundant layout writes the first copy with flag 1. Returns the index of the copy written.
    @discardableResult
    public func write(_ environment: UBootEnvironment) throws -> Int {
        let target: Int
        var flags: UInt8? = nil
        if config.redundant {
            let current = try snapshot()
            if let active = current.activeIndex {
                target = 1 - active
                flags = (current.copies[active].flags ?? 0) &+ 1
            } else {
                target = 0
                flags = 1
            }
        } else {
            target = 0
        }
        let copy = config.copies[target]
        let image = try environment.encodeImage(size: copy.size, flags: flags, source: copy.path.string)
        let existed = storage.fileKind(copy.path) != nil
        let file = try storage.open(copy.path, create: true)
        do {
            try file.write(image, at: copy.offset)
            try file.sync()
            try file.close()
        } catch {
            try? file.close()
            throw error
        }
        if !existed { try storage.syncDirectory(copy.path.removingLastComponent()) }
        return target
    }

    private func readImage(_ copy: UBootEnvironmentCopy) throws -> [UInt8] {
        let file = try storage.openForReading(copy.path)
        defer { try? file.close() }
        var image = [UInt8](repeating: 0, count: copy.size)
        let n = try image.withUnsafeMutableBytes { try file.read(into: $0, at: copy.offset) }
        guard n == copy.size else {
            throw BootError.io(
                "\(copy.path): short read of the U-Boot environment at offset \(copy.offset) (\(n) of \(copy.size) bytes)"
            )
        }
        return image
    }
}
