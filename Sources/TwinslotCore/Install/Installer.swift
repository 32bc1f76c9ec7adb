import Logging
import Synchronization
import SystemPackage

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

#if canImport(Glibc)
    import Glibc
#endif

/// What an install did, for the CLI to render and reports to keep.
public struct InstallOutcome: Sendable {
    public enum Kind: String, Sendable, Codable {
        /// The images are staged and the target group is the one-shot trial for the next boot.
        case staged
        /// The bundle is what the active group already runs: nothing was written.
        case alreadyInstalled = "already-installed"
        /// `--dry-run`: nothing was written.
        case planned
    }

    public struct Step: Sendable, Codable {
        /// Where a slot's content comes from.
        public enum Origin: String, Sendable, Codable {
            /// The bundle's image for the class.
            case bundle
            /// The bundle does not carry the class: the running group's slot is copied.
            case runningGroup = "running-group"
        }

        public var slotClass: String
        public var slot: String
        public var type: String
        public var size: UInt64
        public var sha256: String
        public var seconds: Double?
        /// Optional only so reports written before partial bundles still decode.
        public var origin: Origin? = .bundle
        /// With `origin == .runningGroup`: the running group's slot that is copied.
        public var copiedFrom: String?
    }

    public var kind: Kind
    public var bundleHash: String
    public var version: String
    public var securityVersion: UInt64
    public var target: SlotLetter
    public var steps: [Step]
    public var signer: String?
    /// From the last image's read-back to the trial boot being durable.
    public var flipSeconds: Double?
    /// The journal's id for the operation (nil when nothing was written).
    public var operationID: String?
    /// Where in the bundle this install continued an interrupted one (nil: from the start).
    public var resumedFromOffset: UInt64?
}

/// Installs a bundle into the inactive slot group, following the order of durable writes that
/// docs/crash-safety.md argues is safe at every prefix:
///
/// 1. verify manifest and signature, compatibility, anti-rollback (nothing written yet);
/// 2. journal BEGIN; bootloader: target group not bootable; journal TARGET-DISABLED;
/// 3. per image: decode, hash, write, fsync, read back, compare; journal STAGED;
/// 3b. per class a partial bundle does not carry: copy the running group's slot, fsync, read
///     back, compare; journal STAGED with the group copied from (Installer+Copy.swift);
/// 4. bootloader: target group is the one-shot trial; journal FLIPPED.
///
/// Each durable step is logged to `logger` right after it is durable (BEGIN, each STAGED,
/// FLIPPED), with the operation id, slot and phase as metadata. Logged here rather than by the
/// CLI: only the engine sees a step become durable, and an operator reading the journal after
/// a power cut needs the images staged before it, which an outcome printed at the end never
/// reports. The caller injects the logger (swift-log's convention for libraries), so Core picks
/// no backend; the CLI's goes to journald. Progress is not logged, and neither is a failure: the
/// caller reports it with its exit code (the CLI's reportingFailures, the agent's feedback).
public struct Installer {
    public let device: Device
    public var keyring: Keyring
    public var logger: Logger
    /// Told when the install enters a phase, on the installing thread: a bus service shows the
    /// phase and turns byte progress into one percentage (it learns the bytes to write here).
    public var phaseObserver: (@Sendable (Phase) -> Void)?

    public init(device: Device, keyring: Keyring, logger: Logger = .disabled) {
        self.device = device
        self.keyring = keyring
        self.logger = logger
    }

    /// The steps of an install in the order they happen; `writing` carries the declared decoded
    /// size of every image (0 for an image of undeclared size, a compressed SWUpdate one).
    public enum Phase: Sendable, Equatable {
        case verifying
        case preInstallHooks
        case writing(totalBytes: UInt64)
        case flipping

        public var name: String {
            switch self {
            case .verifying: "verifying"
            case .preInstallHooks: "pre-install-hooks"
            case .writing: "writing"
            case .flipping: "flipping"
            }
        }
    }

    /// How far an image has streamed, for progress bars and orchestrators.
    public struct Progress: Sendable {
        public var slotClass: String
        /// Decoded bytes written so far.
        public var bytes: UInt64
        /// The image's decoded size; 0 while it is unknown (a compressed SWUpdate image, whose
        /// sw-description declares no size). The last event of an image always has
        /// `bytes == total`, its real size.
        public var total: UInt64
    }

    /// Installs and writes the operation's report, whatever the outcome.
    public func install(
        from source: any ByteSource, dryRun: Bool = false, progress: (@Sendable (Progress) -> Void)? = nil
    ) throws -> InstallOutcome {
        var report = OperationReport(kind: "install")
        do {
            let outcome = try perform(from: source, dryRun: dryRun, progress: progress, report: &report)
            if !dryRun {
                report.outcome = outcome.kind.rawValue
                _ = try? Reporter(device: device).record(report)
            }
            return outcome
        } catch {
            report.outcome = report.operationID == nil ? "refused" : "failed"
            report.error = String(describing: error)
            // No report for "busy": the operation holding the lock owns the reports and metrics.
            let busy = (error as? InstallError).map { if case .busy = $0 { true } else { false } } ?? false
            if !dryRun && !busy && !(error is PowerCutSignal) { _ = try? Reporter(device: device).record(report) }
            throw error
        }
    }

    private func perform(
        from source: any ByteSource, dryRun: Bool, progress: (@Sendable (Progress) -> Void)?,
        report: inout OperationReport
    ) throws -> InstallOutcome {
        let lock = try InstallLock(dataDirectory: device.config.dataDirectory)
        defer { withExtendedLifetime(lock) {} }
        let journal = Journal(storage: device.storage, directory: device.dataDirectory)
        _ = try journal.recover()
        let booted = try device.bootedGroup()
        let target = booted.other
        // Writing the other group is safe only while the running group is committed: during a
        // trial, the other group is the fallback.
        if let primary = journal.state.primary, primary != booted {
            if let last = journal.state.last, last.outcome == .rolledBack, last.target == booted {
                throw InstallError.runningGroupRolledBack(booted: booted, primary: primary)
            }
            throw InstallError.runningGroupNotCommitted(booted: booted, primary: primary)
        }

        report.booted = booted
        report.target = target
        let reader = try BundleFormat.open(
            source,
            swu: SwuTarget(compatible: device.config.compatible, group: target, slotClasses: device.config.slotClasses))
        phaseObserver?(.verifying)
        let verified = try report.phase("verify") { try reader.readManifest(keyring: keyring) }
        // Read before BEGIN, which clears it.
        let resumePoint = journal.state.resumePoint
        let manifest = verified.manifest
        report.version = manifest.version
        report.bundleHash = verified.bundleHash
        try device.profile.check(manifest)
        guard !manifest.images.isEmpty else { throw InstallError.emptyBundle }
        let copies = slotCopies(for: manifest, booted: booted, state: journal.state)
        let installed = device.securityFloor(journal.state)
        if device.config.security.antiRollback {
            let refused =
                manifest.securityVersion < installed
                || (!device.config.security.allowSameVersion && manifest.securityVersion == installed && installed > 0)
            if refused { throw InstallError.downgrade(bundle: manifest.securityVersion, installed: installed) }
        }
        if !device.config.security.allowOlderVersion, let running = journal.state.group(booted).version,
            VersionOrder.isOlder(manifest.version, than: running)
        {
            throw InstallError.olderVersion(bundle: manifest.version, running: running)
        }

        func outcome(_ kind: InstallOutcome.Kind, _ steps: [InstallOutcome.Step], flip: Double? = nil) -> InstallOutcome
        {
            InstallOutcome(
                kind: kind, bundleHash: verified.bundleHash, version: manifest.version,
                securityVersion: manifest.securityVersion, target: target, steps: steps,
                signer: verified.signer?.subject, flipSeconds: flip)
        }
        let plan = manifest.images.map { image -> InstallOutcome.Step in
            let slot = device.config.slotClass(named: image.slotClass)!
            return .init(
                slotClass: image.slotClass, slot: slot.path(for: target), type: slot.type.rawValue, size: image.size,
                sha256: image.sha256)
        }
        if journal.state.group(booted).bundleHash == verified.bundleHash && journal.state.primary == booted {
            return outcome(.alreadyInstalled, [])
        }
        for copy in copies { try preflight(copy) }
        for step in plan {
            let path = FilePath(step.slot)
            if step.type == SlotType.raw.rawValue {
                // An image of unknown size (SWUpdate) is capped while it streams instead.
                try RawSlotWriter.preflight(storage: device.storage, path: path, size: step.size)
            } else if device.storage.fileKind(path.removingLastComponent()) != .directory {
                throw SlotError.missing(slot: step.slot)
            }
        }
        if dryRun { return outcome(.planned, plan + copies.map(planStep)) }

        let reporter = Reporter(device: device)
        let hookEnvironment = [
            "TWINSLOT_VERSION": manifest.version, "TWINSLOT_BUNDLE_HASH": verified.bundleHash,
            "TWINSLOT_TARGET_GROUP": target.rawValue, "TWINSLOT_BOOTED_GROUP": booted.rawValue,
            "TWINSLOT_SOURCE": source.name,
        ]
        phaseObserver?(.preInstallHooks)
        try report.phase("pre-install hooks") { try reporter.runHooks(.preInstall, environment: hookEnvironment) }
        let operationID = UUID().uuidString
        report.operationID = operationID
        try journal.append(
            .begin(
                BeginRecord(
                    operationID: operationID, bundleHash: verified.bundleHash, version: manifest.version,
                    compatible: manifest.compatible, securityVersion: manifest.securityVersion, source: source.name,
                    target: target, slotClasses: manifest.images.map(\.slotClass) + copies.map(\.slotClass.name),
                    bootID: device.bootID())))
        var log = logger
        log[metadataKey: "operation-id"] = "\(operationID)"
        log[metadataKey: "bundle-version"] = "\(manifest.version)"
        log[metadataKey: "slot"] = "\(target.rawValue)"
        log.notice(
            "install of \(manifest.version) into group \(target.rawValue) started",
            metadata: ["phase": "begin", "bundle-hash": "\(verified.bundleHash)", "source": "\(source.name)"])
        do {
            phaseObserver?(.writing(totalBytes: (plan + copies.map(planStep)).reduce(0) { $0 + $1.size }))
            try device.boot.disable(target)
            try journal.append(.targetDisabled(target))
            var steps: [InstallOutcome.Step] = []
            var lastReadBack = Date()
            var finishing = source
            var resumedFrom: UInt64?
            if let point = resumePoint, let resumable = reader as? any ResumableBundleSource,
                let resumed = try resume(point, resumable, verified, target: target, source: source)
            {
                for image in manifest.images where point.staged[image.slotClass] != nil {
                    let done = point.staged[image.slotClass]!
                    try journal.append(
                        .staged(slotClass: image.slotClass, group: target, sha256: done.sha256, size: done.size))
                    var step = plan.first { $0.slotClass == image.slotClass }!
                    step.size = done.size
                    step.sha256 = done.sha256
                    steps.append(step)
                }
                finishing = resumed
                resumedFrom = point.offset
                log.notice(
                    "install resumed at bundle byte \(point.offset)",
                    metadata: ["phase": "resume", "offset": "\(point.offset)"])
                report.phases.append(.init(name: "resume at byte \(point.offset)", started: Date(), seconds: 0))
            }
            while let image = try reader.nextImage() {
                if let offset = (reader as? any ResumableBundleSource)?.currentImageOffset {
                    try journal.append(.imageStarted(slotClass: image.slotClass, offset: offset))
                }
                let start = Date()
                let tracker = ProgressTracker(slotClass: image.slotClass, total: image.size, report: progress)
                let slot = device.config.slotClass(named: image.slotClass)!
                let path = FilePath(slot.path(for: target))
                // The size and hash the image turned out to have: the declared ones for a native
                // bundle (streamImage checked them), learnt while streaming for a SWUpdate image.
                let digest: ImageDigest
                let limit = image.sizeKnown ? nil : Self.capacity(storage: device.storage, slot: path)
                switch slot.type {
                case .raw:
                    let writer = try RawSlotWriter(storage: device.storage, path: path, size: image.size)
                    defer { try? writer.close() }
                    digest = try reader.streamImage(image, into: tracker.wrap(writer), limit: limit)
                    try writer.finish(size: digest.size)
                    try writer.verifyReadBack(size: digest.size, sha256: digest.sha256)
                case .directory, .oci:
                    let writer = try DirectorySlotWriter(
                        storage: device.storage, slot: path, size: image.size,
                        alsoSHA512: { slot.type == .oci && OCILayoutVerifier.isSHA512Blob($0) })
                    digest = try reader.streamImage(image, into: tracker.wrap(writer), limit: limit)
                    try writer.finish(size: digest.size, sha256: digest.sha256, member: image.member)
                    try writer.verifyReadBack()
                    if slot.type == .oci {
                        var layout = OCILayoutVerifier(storage: device.storage, writer: writer, member: image.member)
                        try layout.verify()
                    }
                }
                lastReadBack = Date()
                try journal.append(
                    .staged(slotClass: image.slotClass, group: target, sha256: digest.sha256, size: digest.size))
                log.notice(
                    "image \(image.slotClass) staged into \(path) and read back",
                    metadata: [
                        "phase": "staged", "slot-class": "\(image.slotClass)", "slot-path": "\(path)",
                        "image-size": "\(digest.size)", "image-sha256": "\(digest.sha256)",
                    ])
                var step = plan.first { $0.slotClass == image.slotClass }!
                step.size = digest.size
                step.sha256 = digest.sha256
                step.seconds = Date().timeIntervalSince(start)
                steps.append(step)
                report.phases.append(.init(name: "write \(image.slotClass)", started: start, seconds: step.seconds!))
                report.bytes += digest.size
                tracker.done(size: digest.size)
            }
            try finishing.finish()
            for copy in copies {
                let start = Date()
                let step = try perform(copy, target: target, journal: journal, log: log)
                lastReadBack = Date()
                steps.append(step)
                report.phases.append(.init(name: "copy \(copy.slotClass.name)", started: start, seconds: step.seconds!))
                report.bytes += step.size
            }
            report.slots = steps
            phaseObserver?(.flipping)
            try device.boot.setTrial(target)
            try journal.append(.flipped(target))
            log.notice(
                "group \(target.rawValue) is the trial for the next boot", metadata: ["phase": "flipped"])
            let flip = Date().timeIntervalSince(lastReadBack)
            report.phases.append(.init(name: "flip", started: lastReadBack, seconds: flip))
            let hookFailures = try? reporter.runHooks(.postInstall, environment: hookEnvironment)
            if let failure = hookFailures?.first { report.error = "post-install hook \(failure)" }
            var staged = outcome(.staged, steps, flip: flip)
            staged.operationID = operationID
            staged.resumedFromOffset = resumedFrom
            return staged
        } catch {
            let failureClass = (error as? any ClassifiedError)?.failureClass ?? .internalError
            // The target may already be the bootloader's trial (an I/O error after setTrial):
            // make sure it is not bootable before the journal says the install failed.
            try? device.boot.disable(target)
            try? journal.append(.failed(reason: String(describing: error), failureClass: failureClass.rawValue))
            throw error
        }
    }

}

/// Marks errors that mean the process (or the simulated power) is gone, so nothing more is
/// written for them.
public protocol PowerCutSignal: Error {}
