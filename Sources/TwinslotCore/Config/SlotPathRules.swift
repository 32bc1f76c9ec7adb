#if canImport(Glibc)
    import Glibc
#endif

/// The rules that keep a configuration mistake from becoming a bricked or lying device: two keys
/// that name the same file by different spellings (`..`, symlinks, `//`) are the same path, and
/// no slot may be, or contain, or sit inside a file twinslot itself relies on (the bootloader
/// environment, the data directory with the journal and lock, the config file, the keyring).
enum SlotPathRules {
    /// One path a key names, as it was written and where.
    struct Named {
        var owner: String
        var path: String
        var line: Int?
        /// False for a path twinslot itself makes a symlink (a directory slot's `current`): its
        /// own last component is compared as written, only the directories above are resolved.
        var followLast = true

        var canonicalPath: String {
            if followLast { return SlotPathRules.canonical(path) }
            let parts = SlotPathRules.lexical(path)
            guard let last = parts.last else { return "/" }
            let parent = SlotPathRules.canonical("/" + parts.dropLast().joined(separator: "/"))
            return (parent == "/" ? "" : parent) + "/" + last
        }
    }

    /// `.` and `..` folded and `//` collapsed; then, for the longest prefix that exists,
    /// symlinks resolved (realpath), so `/dev/disk/by-partlabel/rootfs-b` and `/dev/vda3` are
    /// one slot on a device, while a path that does not exist yet still compares lexically.
    static func canonical(_ path: String) -> String {
        var components = lexical(path)
        var missing: [Substring] = []
        while true {
            let prefix = "/" + components.joined(separator: "/")
            if let resolved = realpath(prefix, nil) {
                defer { free(resolved) }
                let base = String(cString: resolved)
                return missing.isEmpty
                    ? base : (base == "/" ? "" : base) + "/" + missing.reversed().joined(separator: "/")
            }
            guard let last = components.popLast() else { return "/" + missing.reversed().joined(separator: "/") }
            missing.append(last)
        }
    }

    /// The path's components with `.`, `..` and empty ones folded, no file system consulted.
    static func lexical(_ path: String) -> [Substring] {
        var components: [Substring] = []
        for part in path.split(separator: "/") {
            if part == "." { continue }
            if part == ".." {
                if !components.isEmpty { components.removeLast() }
                continue
            }
            components.append(part)
        }
        return components
    }

    /// Whether `inner` is `outer` or lies below it (both canonical).
    static func contains(_ outer: String, _ inner: String) -> Bool {
        inner == outer || inner.hasPrefix(outer == "/" ? "/" : outer + "/")
    }

    /// The first slot path that names the same file as another slot path, or that is, contains
    /// or lies inside a reserved path; nil when every slot path is its own.
    static func firstConflict(slots: [Named], reserved: [Named]) -> (slot: Named, message: String)? {
        var seen: [String: Named] = [:]
        for slot in slots {
            let path = slot.canonicalPath
            if let previous = seen[path] {
                let spelled =
                    lexical(previous.path) == lexical(slot.path)
                    ? "" : " (\(previous.path) and \(slot.path) are one file)"
                return (
                    slot,
                    "path \"\(slot.path)\" is already used by \(previous.owner)\(previous.line.map { " (line \($0))" } ?? "")\(spelled); every slot path must be distinct"
                )
            }
            seen[path] = slot
            for other in reserved {
                let otherPath = canonical(other.path)
                if contains(path, otherPath) || contains(otherPath, path) {
                    let relation =
                        path == otherPath ? "is" : contains(path, otherPath) ? "contains" : "lies inside"
                    return (
                        slot,
                        "path \"\(slot.path)\" \(relation) \(other.owner) \"\(other.path)\": an install would overwrite it"
                    )
                }
            }
        }
        return nil
    }

    /// The first raw slot that is the block device holding a reserved path's file system (the
    /// ESP partition holding the grubenv, the data partition): writing an image there destroys
    /// it as surely as writing the file itself.
    static func firstDeviceConflict(slots: [Named], reserved: [Named]) -> (slot: Named, message: String)? {
        for slot in slots {
            var device = stat()
            guard stat(slot.path, &device) == 0, device.st_mode & S_IFMT == S_IFBLK else { continue }
            for other in reserved {
                var file = stat()
                guard stat(other.path, &file) == 0, file.st_dev == device.st_rdev else { continue }
                return (
                    slot,
                    "path \"\(slot.path)\" is the device holding \(other.owner) \"\(other.path)\": an install would overwrite it"
                )
            }
        }
        return nil
    }
}
