import CLibConfig

/// Reads a libconfig document (the syntax of SWUpdate's `sw-description`) with libconfig itself,
/// the library SWUpdate parses it with, so that the same bytes mean the same settings to both:
/// which strings join, which escapes exist, how `0x1F` or `42L` read, where a duplicate name or
/// a mixed-type array is refused. Before libconfig sees the text, `LibConfigGate` refuses what
/// a signed document must not do to a device (`@include`) or what libconfig would read other
/// than as written (integers it wraps, a NUL byte), and bounds the nesting (64 levels).
///
/// The `config_t` lives only inside `parse`: it is created, read, copied into `LibConfigValue`s
/// and destroyed before `parse` returns or throws, so no libconfig memory outlives the call.
public enum LibConfig {
    /// Parses a whole document: the implicit top-level group.
    public static func parse(_ bytes: [UInt8]) throws -> LibConfigValue {
        try LibConfigGate.check(bytes)
        let config = UnsafeMutablePointer<config_t>.allocate(capacity: 1)
        defer { config.deallocate() }
        config_init(config)
        defer { config_destroy(config) }
        // The include directory stays unset (1.5's `config_set_include_dir` strdup()s its argument,
        // so it cannot be cleared with NULL): `@include` never reaches libconfig (LibConfigGate).
        let text = bytes + [0]
        let read = text.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { config_read_string(config, $0.baseAddress!) }
        }
        guard read == CONFIG_TRUE else {
            let line = Int(twinslot_config_error_line(config))
            let reason = twinslot_config_error_text(config).map { String(cString: $0) } ?? "unreadable"
            throw LibConfigError(line: line, message: reason + near(line: line, in: bytes))
        }
        guard let root = twinslot_config_root(config) else { return LibConfigValue(.group([]), line: 1) }
        var value = try convert(root)
        value.line = 1
        return value
    }

    public static func parse(_ text: String) throws -> LibConfigValue { try parse(Array(text.utf8)) }

    /// The text of line `line`, trimmed and cut to 60 bytes, for libconfig's terse messages
    /// ("syntax error").
    static func near(line: Int, in bytes: [UInt8]) -> String {
        let lines = bytes.split(separator: 0x0a, omittingEmptySubsequences: false)
        let rest = lines.dropFirst(max(0, line - 1))
        guard line >= 1, let here = rest.first else { return " at the end of the file" }
        let text = String(decoding: here.prefix(60), as: UTF8.self).trimmingWhitespace()
        if !text.isEmpty { return " near '\(text)'" }
        return rest.allSatisfy { $0.allSatisfy { $0 == 0x20 || $0 == 0x09 || $0 == 0x0d } }
            ? " at the end of the file" : ""
    }

    /// Copies a setting and everything under it. Recursion is bounded by `LibConfigGate.maxDepth`.
    static func convert(_ setting: UnsafeMutablePointer<config_setting_t>) throws -> LibConfigValue {
        let node = setting.pointee
        let line = Int(node.line)
        func children() throws -> [UnsafeMutablePointer<config_setting_t>] {
            let count = config_setting_length(setting)
            return (0..<count).compactMap { config_setting_get_elem(setting, UInt32($0)) }
        }
        switch Int32(node.type) {
        case CONFIG_TYPE_GROUP:
            var settings: [LibConfigSetting] = []
            for child in try children() {
                let name = child.pointee.name.map { String(cString: $0) } ?? ""
                settings.append(LibConfigSetting(name: name, value: try convert(child)))
            }
            return LibConfigValue(.group(settings), line: line)
        case CONFIG_TYPE_LIST:
            return LibConfigValue(.list(try children().map(convert)), line: line)
        case CONFIG_TYPE_ARRAY:
            return LibConfigValue(.array(try children().map(convert)), line: line)
        case CONFIG_TYPE_INT:
            return LibConfigValue(.integer(Int64(node.value.ival)), line: line)
        case CONFIG_TYPE_INT64:
            return LibConfigValue(.integer(Int64(node.value.llval)), line: line)
        case CONFIG_TYPE_FLOAT:
            guard node.value.fval.isFinite else {
                throw LibConfigError(line: line, message: "a float out of range (libconfig reads it as infinite)")
            }
            return LibConfigValue(.float(node.value.fval), line: line)
        case CONFIG_TYPE_BOOL:
            return LibConfigValue(.boolean(node.value.ival != 0), line: line)
        case CONFIG_TYPE_STRING:
            guard let pointer = node.value.sval else { return LibConfigValue(.string(""), line: line) }
            guard let text = String(validatingCString: pointer) else {
                throw LibConfigError(line: line, message: "the string is not valid UTF-8")
            }
            return LibConfigValue(.string(text), line: line)
        default:
            throw LibConfigError(line: line, message: "a setting of libconfig type \(node.type) twinslot does not know")
        }
    }
}
