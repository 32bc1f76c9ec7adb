import SystemPackage

#if canImport(Glibc)
    import Glibc
#endif

/// Where an install continues an interrupted one, and how much an image of undeclared size may
/// decode to: the two decisions `Installer.perform` takes from what the device already holds.
extension Installer {
    /// Continues an interrupted install of the same bundle into the same group: the images
    /// staged before the resume point must be raw slots that still hold exactly what was
    /// verified then (read back and hashed again now), and the source must be able to start at
    /// the resume offset. Nil: start over.
    func resume(
        _ point: DeviceState.ResumePoint, _ reader: any ResumableBundleSource, _ verified: VerifiedManifest,
        target: SlotLetter, source: any ByteSource
    ) throws -> (any ByteSource)? {
        guard point.target == target, point.bundleHash == verified.bundleHash, !point.staged.isEmpty else { return nil }
        for (name, done) in point.staged {
            guard let slot = device.config.slotClass(named: name), slot.type == .raw,
                let held = try? RawSlotWriter.hashSlot(
                    storage: device.storage, path: FilePath(slot.path(for: target)), size: done.size),
                held == done.sha256
            else { return nil }
        }
        guard let reopened = try source.reopen(at: point.offset),
            try reader.resume(at: point.offset, skipping: Set(point.staged.keys), source: reopened)
        else { return nil }
        return reopened
    }

    /// The most an image of undeclared size may decode to in `slot`: a block device's size, or
    /// the space its file system has for it; never more than `SwuReader.defaultMaxImageSize`.
    static func capacity(storage: any Storage, slot: FilePath) -> UInt64 {
        var limit = SwuReader.defaultMaxImageSize
        if storage.fileKind(slot) == .blockDevice {
            if let file = try? storage.openForReading(slot) {
                if let size = try? file.size() { limit = min(limit, size) }
                try? file.close()
            }
            return limit
        }
        #if canImport(Glibc)
            var fs = statvfs()
            var existing = stat()
            let existingSize = stat(slot.string, &existing) == 0 ? UInt64(max(0, existing.st_size)) : 0
            if statvfs(slot.removingLastComponent().string, &fs) == 0 {
                limit = min(limit, UInt64(fs.f_bavail) * UInt64(fs.f_frsize) + existingSize)
            }
        #endif
        return limit
    }
}
