import Logging
import SystemPackage

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// A partial bundle's install (docs/bundle-format.md, "Partial bundles"): the slots of the target
/// group the bundle does not carry are copied from the running group, after the bundle's images
/// and before the flip, each journaled STAGED with `copiedFrom`, so the trial boots the running
/// group's content in them and never what an older update left there.
extension Installer {
    /// One slot of the target group to fill from the running group.
    struct SlotCopy {
        var slotClass: SlotClassConfig
        var source: FilePath
        var target: FilePath
        /// What the journal recorded for the source slot; nil: twinslot never wrote it (a factory
        /// image), so the whole source is copied and nothing is compared with a recorded hash.
        var recorded: DeviceState.SlotRecord?

        /// The bytes a raw copy reads: the recorded size, or the whole source.
        func rawSize(storage: any Storage) throws -> UInt64 {
            if let size = recorded?.size { return size }
            let file = try storage.openForReading(try storage.resolvingSymlinks(source))
            defer { try? file.close() }
            return try file.size()
        }
    }

    /// The device's classes `manifest` does not carry, in the configuration's order.
    func slotCopies(for manifest: Manifest, booted: SlotLetter, state: DeviceState) -> [SlotCopy] {
        let carried = Set(manifest.images.map(\.slotClass))
        return device.config.slotClasses.filter { !carried.contains($0.name) }.map { slot in
            SlotCopy(
                slotClass: slot, source: FilePath(slot.path(for: booted)),
                target: FilePath(slot.path(for: booted.other)),
                recorded: state.group(booted).slots[slot.name])
        }
    }

    /// The dry run's and the report's line for a copy (size and hash as recorded, 0 and empty
    /// where the source was never recorded and not yet read).
    func planStep(_ copy: SlotCopy) -> InstallOutcome.Step {
        var step = InstallOutcome.Step(
            slotClass: copy.slotClass.name, slot: copy.target.string, type: copy.slotClass.type.rawValue,
            size: copy.recorded?.size ?? 0, sha256: copy.recorded?.sha256 ?? "")
        step.origin = .runningGroup
        step.copiedFrom = copy.source.string
        if copy.slotClass.type == .raw, copy.recorded?.size == nil {
            step.size = (try? copy.rawSize(storage: device.storage)) ?? 0
        }
        return step
    }

    /// Checks, before anything is written, that the source exists and the target can take it.
    func preflight(_ copy: SlotCopy) throws {
        let storage = device.storage
        switch copy.slotClass.type {
        case .raw:
            guard storage.fileKind(copy.source) != nil else { throw SlotError.missing(slot: copy.source.string) }
            try RawSlotWriter.preflight(storage: storage, path: copy.target, size: try copy.rawSize(storage: storage))
        case .directory, .oci:
            guard storage.fileKind(copy.source) == .directory else { throw SlotError.missing(slot: copy.source.string) }
            guard storage.fileKind(copy.target.removingLastComponent()) == .directory else {
                throw SlotError.missing(slot: copy.target.string)
            }
        }
    }

    /// Copies one slot, verifies it, and journals it STAGED with the source group. The record
    /// keeps the source slot's recorded hash and size (a directory's is its image's), so `status`
    /// tells the same truth for both groups; a slot never recorded gets what the copy measured.
    func perform(
        _ copy: SlotCopy, target: SlotLetter, journal: Journal, log: Logger
    ) throws -> InstallOutcome.Step {
        let start = Date()
        let storage = device.storage
        let copied: SlotCopier.Copied
        switch copy.slotClass.type {
        case .raw:
            copied = try SlotCopier.copyRaw(
                storage: storage, from: copy.source, to: copy.target, size: copy.recorded?.size,
                expectedSHA256: copy.recorded?.sha256)
        case .directory, .oci:
            copied = try SlotCopier.copyTree(storage: storage, from: copy.source, to: copy.target)
        }
        let sha256 = copy.recorded?.sha256 ?? copied.sha256
        let size = copy.recorded?.size ?? copied.size
        try journal.append(
            .staged(
                slotClass: copy.slotClass.name, group: target, sha256: sha256, size: size, copiedFrom: target.other))
        log.notice(
            "slot \(copy.slotClass.name) copied from the running group's \(copy.source) into \(copy.target) and read back",
            metadata: [
                "phase": "staged", "slot-class": "\(copy.slotClass.name)", "slot-path": "\(copy.target)",
                "copied-from": "\(copy.source)", "image-size": "\(size)", "image-sha256": "\(sha256)",
            ])
        var step = planStep(copy)
        step.size = size
        step.sha256 = sha256
        step.seconds = Date().timeIntervalSince(start)
        return step
    }
}
