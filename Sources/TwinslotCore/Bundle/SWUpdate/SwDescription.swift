#if canImport(Glibc)
    import Glibc
#endif

/// What twinslot takes from a SWUpdate `sw-description` (docs/swupdate.md): the software
/// version, the hardware compatibility list, and the images of the selected set.
public struct SwDescription: Sendable, Equatable {
    public struct Image: Sendable, Equatable {
        public enum Kind: String, Sendable {
            /// `type = "raw"`: written byte for byte (a raw slot).
            case raw
            /// `type = "archive"`: a tar archive extracted into a directory (a directory slot).
            case archive
        }

        /// The cpio member holding the image.
        public var filename: String
        public var kind: Kind
        /// Where the image goes, as written: `device`, `volume` or `path` (docs/swupdate.md).
        public var target: String
        /// SHA-256 of the member as stored in the cpio (the compressed bytes when compressed).
        public var sha256: String
        /// `compressed = "zstd"`.
        public var zstd: Bool
        /// The line of the image's entry, for messages.
        public var line: Int
    }

    /// Which images to take.
    public enum Selection: Sendable, Equatable {
        /// The set for a slot group: `stable.copy1` (or `copy-1`) for A, `stable.copy2` (or
        /// `copy-2`) for B, else the images outside any set.
        case group(SlotLetter)
        /// Every image of every set, once per file name (`bundle info`/`verify` with no device).
        case all
    }

    public var version: String
    public var description: String?
    /// Nil when sw-description has no `hardware-compatibility`.
    public var hardwareCompatibility: [String]?
    /// `twinslot-security-version`, or 0.
    public var securityVersion: UInt64
    public var images: [Image]
    /// Every file name any image entry names, in any set: members of the .swu that the selected
    /// set does not use are skipped, anything else is an extra member.
    public var referencedFilenames: Set<String>

    public static let collection = "stable"
    public static let extensionSecurityVersion = "twinslot-security-version"

    static func modes(for group: SlotLetter) -> [String] {
        group == .a ? ["copy1", "copy-1"] : ["copy2", "copy-2"]
    }

    /// Parses and interprets sw-description bytes.
    public static func parse(_ bytes: [UInt8], board: String?, selection: Selection) throws -> SwDescription {
        let root: LibConfigValue
        do {
            root = try LibConfig.parse(bytes)
        } catch let error as LibConfigError {
            throw SwuError.syntax(line: error.line, message: error.message)
        }
        return try interpret(root, board: board, selection: selection)
    }

    public static func interpret(_ root: LibConfigValue, board: String?, selection: Selection) throws
        -> SwDescription
    {
        guard let software = root["software"] else {
            throw SwuError.invalid(line: 1, message: "no 'software' group")
        }
        guard software.settings != nil else {
            throw SwuError.invalid(
                line: software.line, message: "'software' must be a group, not \(software.typeDescription)")
        }
        try rejectLinks(software)
        // SWUpdate's priority: board.collection.mode, collection.mode, board, top level.
        var scopes: [LibConfigValue] = []
        let boardNode = board.flatMap { software[$0] }.flatMap { $0.settings != nil ? $0 : nil }
        var modeName: String?
        if case .group(let group) = selection {
            var collectionLine: Int?
            for base in [boardNode, software].compactMap({ $0 }) {
                guard let collection = base[collection] else { continue }
                collectionLine = collectionLine ?? collection.line
                for name in modes(for: group) {
                    if let mode = collection[name] {
                        modeName = modeName ?? name
                        scopes.append(mode)
                        break
                    }
                }
            }
            if let collectionLine, modeName == nil {
                throw SwuError.invalid(
                    line: collectionLine,
                    message:
                        "'\(Self.collection)' has no set '\(modes(for: group)[0])' for slot group \(group.rawValue) (copy1 is for A, copy2 for B)"
                )
            }
        }
        if let boardNode { scopes.append(boardNode) }
        scopes.append(software)
        func find(_ name: String) -> LibConfigValue? { scopes.lazy.compactMap { $0[name] }.first }

        guard let versionValue = find("version") else {
            throw SwuError.invalid(line: software.line, message: "no 'version' in 'software'")
        }
        guard let version = versionValue.stringValue, !version.isEmpty, version.utf8.count <= 128 else {
            throw SwuError.invalid(line: versionValue.line, message: "'version' must be a string of 1 to 128 bytes")
        }
        let description = find("description")?.stringValue
        var compatibility: [String]?
        if let value = find("hardware-compatibility") {
            guard let elements = value.elements else {
                throw SwuError.invalid(
                    line: value.line, message: "'hardware-compatibility' must be an array of strings")
            }
            compatibility = try elements.map { element in
                guard let text = element.stringValue else {
                    throw SwuError.invalid(
                        line: element.line, message: "'hardware-compatibility' must hold strings only")
                }
                return text
            }
        }
        var securityVersion: UInt64 = 0
        if let value = find(extensionSecurityVersion) {
            guard let number = value.integerValue, number >= 0 else {
                throw SwuError.invalid(
                    line: value.line, message: "'\(extensionSecurityVersion)' must be an integer of at least 0")
            }
            securityVersion = UInt64(number)
        }

        var images: [Image] = []
        var referenced = Set<String>()
        for entry in allImageEntries(software) {
            if let name = entry["filename"]?.stringValue { referenced.insert(name) }
        }
        switch selection {
        case .group:
            for section in ["scripts", "files", "partitions"] {
                if let value = find(section), value.elements?.isEmpty == false {
                    throw SwuError.unsupported(line: value.line, feature: "the '\(section)' section")
                }
            }
            guard let list = find("images") else {
                let place = modeName.map { " (looked in \(collection).\($0), the board's group and 'software')" } ?? ""
                throw SwuError.invalid(line: software.line, message: "no 'images' list\(place)")
            }
            guard let entries = list.elements, case .list = list.kind else {
                throw SwuError.invalid(line: list.line, message: "'images' must be a list: images: ( { … }, … )")
            }
            var names = Set<String>()
            for entry in entries {
                let image = try Self.image(entry)
                guard names.insert(image.filename).inserted else {
                    throw SwuError.invalid(
                        line: image.line, message: "'\(image.filename)' is listed twice in the selected images")
                }
                images.append(image)
            }
        case .all:
            var byName: [String: Image] = [:]
            for entry in allImageEntries(software) {
                let image = try Self.image(entry)
                if let previous = byName[image.filename] {
                    guard previous.sha256 == image.sha256, previous.zstd == image.zstd else {
                        throw SwuError.invalid(
                            line: image.line,
                            message:
                                "'\(image.filename)' is described differently on lines \(previous.line) and \(image.line)"
                        )
                    }
                    continue
                }
                byName[image.filename] = image
                images.append(image)
            }
        }
        guard !images.isEmpty else {
            throw SwuError.invalid(line: software.line, message: "the selected 'images' list is empty")
        }
        return SwDescription(
            version: version, description: description, hardwareCompatibility: compatibility,
            securityVersion: securityVersion, images: images, referencedFilenames: referenced)
    }

    /// SWUpdate's links (`ref = "#./…"`) are not followed: refused, never silently ignored.
    static func rejectLinks(_ value: LibConfigValue) throws {
        switch value.kind {
        case .group(let settings):
            for setting in settings {
                if setting.name == "ref" {
                    throw SwuError.unsupported(line: setting.value.line, feature: "a link ('ref')")
                }
                try rejectLinks(setting.value)
            }
        case .list(let values):
            for element in values { try rejectLinks(element) }
        default: break
        }
    }

    /// Every entry of every `images` list within three levels of `software` (board, collection,
    /// mode).
    static func allImageEntries(_ software: LibConfigValue) -> [LibConfigValue] {
        var result: [LibConfigValue] = []
        func visit(_ node: LibConfigValue, depth: Int) {
            guard let settings = node.settings else { return }
            for setting in settings {
                if setting.name == "images" {
                    if case .list(let entries) = setting.value.kind { result += entries }
                } else if depth < 3 && setting.value.settings != nil {
                    visit(setting.value, depth: depth + 1)
                }
            }
        }
        visit(software, depth: 0)
        return result
    }

    static let ignoredImageKeys: Set<String> = [
        "name", "version", "description", "installed-directly", "properties", "preserve-attributes",
        "filesystem", "data",
    ]

    static func image(_ entry: LibConfigValue) throws -> Image {
        guard let settings = entry.settings else {
            throw SwuError.invalid(line: entry.line, message: "an 'images' entry must be a group { … }")
        }
        func string(_ key: String) throws -> String? {
            guard let value = entry[key] else { return nil }
            guard let text = value.stringValue else {
                throw SwuError.invalid(
                    line: value.line, message: "'\(key)' must be a string, not \(value.typeDescription)")
            }
            return text
        }
        guard let filename = try string("filename") else {
            throw SwuError.invalid(line: entry.line, message: "an image has no 'filename'")
        }
        if let reason = Manifest.memberNameProblem(filename) {
            throw BundleError.unsafeMemberName(filename, reason: reason)
        }
        if filename == SwuReader.descriptionName || filename == SwuReader.signatureName {
            throw BundleError.unsafeMemberName(filename, reason: "reserved name")
        }
        for setting in settings {
            let key = setting.name
            switch key {
            case "filename", "type", "device", "volume", "path", "sha256", "compressed":
                continue
            case "install-if-different", "install-if-higher", "encrypted":
                if setting.value.booleanValue == false { continue }
                throw SwuError.unsupported(
                    line: setting.value.line, feature: "'\(key)' (twinslot installs every image of a complete group)")
            case "offset":
                throw SwuError.unsupported(line: setting.value.line, feature: "'offset' (images start at byte 0)")
            default:
                if ignoredImageKeys.contains(key) { continue }
                throw SwuError.invalid(
                    line: setting.value.line, message: "unknown key '\(key)' in the entry of '\(filename)'")
            }
        }
        let device = try string("device")
        let volume = try string("volume")
        let path = try string("path")
        let typeName = try string("type") ?? (device != nil || path != nil ? "raw" : "ubivol")
        let kind: Image.Kind
        let target: String?
        switch typeName {
        case "raw":
            kind = .raw
            target = device ?? volume ?? path
        case "archive":
            kind = .archive
            target = path ?? device ?? volume
        default:
            throw SwuError.unsupported(
                line: entry["type"]?.line ?? entry.line,
                feature: "handler type '\(typeName)' of '\(filename)' (twinslot installs \"raw\" and \"archive\")")
        }
        guard let target, !target.isEmpty else {
            throw SwuError.invalid(line: entry.line, message: "image '\(filename)' has no 'device', 'volume' or 'path'")
        }
        guard let sha = try string("sha256") else {
            throw SwuError.invalid(
                line: entry.line, message: "image '\(filename)' has no 'sha256'; twinslot installs only hashed images")
        }
        let sha256 = sha.lowercased()
        guard Hex.isSHA256(sha256) else {
            throw SwuError.invalid(
                line: entry["sha256"]!.line, message: "'sha256' of '\(filename)' is not 64 hex digits")
        }
        var zstd = false
        if let value = entry["compressed"] {
            switch value.kind {
            case .string("zstd"): zstd = true
            case .boolean(false): zstd = false
            case .string(let other):
                throw SwuError.unsupported(
                    line: value.line, feature: "compression '\(other)' of '\(filename)' (only \"zstd\" or none)")
            default:
                throw SwuError.unsupported(
                    line: value.line,
                    feature:
                        "'compressed = \(value.booleanValue == true ? "true" : value.typeDescription)' (zlib) of '\(filename)' (only \"zstd\" or none)"
                )
            }
        }
        return Image(filename: filename, kind: kind, target: target, sha256: sha256, zstd: zstd, line: entry.line)
    }

    /// The entry of `hardware-compatibility` that `compatible` matches: equal, or matching a
    /// `#RE:` regular expression. Nil when none does or the list is absent.
    public func matchedHardware(_ compatible: String) -> String? {
        for entry in hardwareCompatibility ?? [] {
            if entry.hasPrefix("#RE:") {
                if Self.matches(pattern: String(entry.dropFirst(4)), compatible) { return entry }
            } else if entry == compatible {
                return entry
            }
        }
        return nil
    }

    /// A POSIX extended regular expression search, as SWUpdate's regexec does.
    static func matches(pattern: String, _ text: String) -> Bool {
        var regex = regex_t()
        guard regcomp(&regex, pattern, REG_EXTENDED | REG_NOSUB) == 0 else { return false }
        defer { regfree(&regex) }
        return regexec(&regex, text, 0, nil, 0) == 0
    }
}
