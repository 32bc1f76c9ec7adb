import SystemPackage
import TwinslotCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Cuts the power at every durable operation of a whole update story and checks, after each
/// cut and a reboot, design.md's four invariants (docs/crash-safety.md, "The crash harness").
///
/// The story (`Story.full`), on a simulated device whose group B holds a committed v1 and group A
/// its factory image: install v2 (into A), reboot (trial, health passes, commit), install v3 (into
/// B), reboot (trial, a required health check fails, roll back), reboot (back on v2).
/// `Story.partial` installs partial bundles instead (CrashHarness+Partial.swift).
public final class CrashHarness {
    public struct Violation: Sendable, CustomStringConvertible {
        public var crashPoint: Int
        public var operation: String
        public var outcome: PersistenceOutcome
        public var invariant: String
        public var detail: String

        public var description: String {
            "crash point \(crashPoint) (\(operation)), outcome \(outcome): invariant \(invariant) violated: \(detail)"
        }
    }

    public struct Report: Sendable {
        public var crashPoints: Int
        public var outcomes: Int
        public var runs: Int
        public var violations: [Violation]
        /// Runs in which reinstalling the interrupted bundle resumed it from the journal.
        public var resumes: Int = 0
    }

    /// The images of one bundle, as the device must hold them.
    struct Content: Equatable {
        var version: String
        var rootfs: String
        var firmware: String
        var apps: [String: String]
    }

    let directory: String
    let story: Story
    let simulator: SimulatedDevice
    let identity: SigningIdentity
    let keyring: Keyring
    var bundles: [String: String] = [:]
    var contents: [Content] = []
    /// The slot classes each version's bundle carries (every class unless it is partial).
    var carried: [String: Set<String>] = [:]
    var base: FaultyStorage!
    public private(set) var operationLog: [String] = []
    /// The kinds of the journal's records after the story without a cut, the pre-story ones
    /// included: every cut must leave a prefix of them.
    var storyKinds: [String] = []

    /// Prepares the device and the bundles in `directory` (created), all signed by `identity`,
    /// trusted through the PEM `keyringPath`.
    public init(directory: String, identity: SigningIdentity, keyringPath: String, story: Story = .full) throws {
        self.directory = directory
        self.story = story
        self.identity = identity
        keyring = try Keyring(contentsOf: keyringPath)
        simulator = SimulatedDevice(directory: directory + "/device")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try simulator.create(keyring: keyringPath)
        for bundle in story.bundles {
            bundles[bundle.version] = try makeBundle(
                version: bundle.version, securityVersion: bundle.securityVersion, classes: bundle.classes)
        }
        // Group B gets v1, committed, on the real device; then everything moves in memory.
        let device = try simulator.loadDevice()
        _ = try Installer(device: device, keyring: keyring).install(from: try FileByteSource(path: bundles["1.0"]!))
        _ = try simulator.reboot()
        base = try FaultyStorage.load(from: simulator.directory, keepsLog: true)
        contents.append(try content(of: .a, in: base, version: "factory"))
    }

    private func makeBundle(version: String, securityVersion: UInt64, classes: Set<String>) throws -> String {
        let source = directory + "/content-\(version)"
        try FileManager.default.createDirectory(atPath: source + "/apps/lib", withIntermediateDirectories: true)
        var rootfs = [UInt8](repeating: 0, count: 96 * 1024 + 123)
        for i in rootfs.indices {
            rootfs[i] = UInt8(truncatingIfNeeded: i &* 7 &+ Int(securityVersion) &* 131 &+ i / 1000)
        }
        FileManager.default.createFile(atPath: source + "/rootfs.img", contents: Data(rootfs))
        FileManager.default.createFile(
            atPath: source + "/firmware.img", contents: Data(repeating: UInt8(securityVersion), count: 5000))
        FileManager.default.createFile(atPath: source + "/apps/VERSION", contents: Data("\(version)\n".utf8))
        FileManager.default.createFile(
            atPath: source + "/apps/lib/app.bin", contents: Data(repeating: UInt8(40 + securityVersion), count: 3000))
        let writer = BundleWriter(
            compatible: SimulatedDevice.compatible, version: version, securityVersion: securityVersion,
            images: [
                .init(slotClass: "rootfs", path: source + "/rootfs.img"),
                .init(slotClass: "firmware", path: source + "/firmware.img"),
                .init(slotClass: "apps", path: source + "/apps"),
            ].filter { classes.contains($0.slotClass) })
        carried[version] = classes
        let path = directory + "/v\(version).tsb"
        try writer.write(to: path, signing: .identity(identity))
        let hash = { (bytes: [UInt8]) in SHA256Hasher.hex(of: bytes) }
        contents.append(
            Content(
                version: version, rootfs: hash(rootfs),
                firmware: hash(Array(repeating: UInt8(securityVersion), count: 5000)),
                apps: [
                    "VERSION": hash(Array("\(version)\n".utf8)),
                    "lib/app.bin": hash(Array(repeating: UInt8(40 + securityVersion), count: 3000)),
                ]))
        return path
    }

    /// Breaks the installer's order on purpose, for the test that shows the harness catches it:
    /// the raw slots' fsyncs lie, so their images are journaled STAGED (and flipped to) while
    /// still volatile.
    public func breakImageSync() {
        let config = simulator.config()
        base.makeSyncsLie(
            for: ["rootfs", "firmware"].flatMap { name in
                [SlotLetter.a, .b].map { config.slotClass(named: name)!.path(for: $0) }
            })
    }

    /// What group `letter`'s slots hold in `storage`.
    func content(of letter: SlotLetter, in storage: FaultyStorage, version: String = "?") throws -> Content {
        let config = simulator.config()
        func slot(_ name: String) -> String { config.slotClass(named: name)!.path(for: letter) }
        var apps: [String: String] = [:]
        func walk(_ path: String, _ relative: String) {
            for name in storage.entries(path) {
                let child = path + "/" + name
                let key = relative.isEmpty ? name : relative + "/" + name
                switch storage.fileKind(FilePath(child)) {
                case .directory: walk(child, key)
                case .regular: apps[key] = SHA256Hasher.hex(of: storage.contents(child) ?? [])
                default: apps[key] = "special"
                }
            }
        }
        walk(slot("apps"), "")
        return Content(
            version: version, rootfs: SHA256Hasher.hex(of: storage.contents(slot("rootfs")) ?? []),
            firmware: SHA256Hasher.hex(of: storage.contents(slot("firmware")) ?? []), apps: apps)
    }

    /// v3's required health check fails; every other group is healthy.
    struct StoryHealth: HealthChecking {
        func check(device: Device, group: SlotLetter) -> HealthVerdict {
            guard let (state, _) = try? Journal.readState(storage: device.storage, directory: device.dataDirectory)
            else { return HealthVerdict(results: [], problem: "journal unreadable") }
            return HealthVerdict(
                results: [], problem: state.group(group).version == "3.0" ? "required check 'app-responds' failed" : nil
            )
        }
    }

    func device(_ storage: FaultyStorage) throws -> Device {
        try Device(config: simulator.config(), storage: storage)
    }

    func install(_ version: String, _ storage: FaultyStorage) throws -> InstallOutcome {
        try Installer(device: try device(storage), keyring: keyring).install(
            from: try FileByteSource(path: bundles[version]!))
    }

    func reboot(_ storage: FaultyStorage) throws -> BootOutcome {
        let outcome = try simulator.reboot(health: StoryHealth(), storage: storage)
        return outcome
    }

    /// The story; stops with `PowerCut` when the storage's power is cut.
    func story(_ storage: FaultyStorage) throws {
        for step in story.steps {
            switch step {
            case .install(let version): _ = try install(version, storage)
            case .reboot: _ = try reboot(storage)
            }
        }
    }

    /// Runs the story once without a cut and returns its number of durable operations.
    public func countOperations() throws -> Int {
        let storage = base.copy()
        try story(storage)
        operationLog = storage.log.map { String($0) }
        storyKinds = kinds(try journalEntries(in: storage))
        try story.checkEnd(try StatusReport.read(device: try device(storage)))
        return storage.operationCount - base.operationCount
    }

    /// Cuts after each of `points` (all when nil) under each outcome and checks the invariants.
    public func run(outcomes: [PersistenceOutcome], points: [Int]? = nil) throws -> Report {
        let total = try countOperations()
        var violations: [Violation] = []
        var runs = 0
        var resumes = 0
        for point in points ?? Array(0..<total) {
            for outcome in outcomes {
                runs += 1
                let storage = base.copy()
                storage.cutPower(after: base.operationCount + point)
                do {
                    try story(storage)
                } catch is PowerCut {
                } catch {
                    // An error the cut caused inside the engine (wrapped): still a cut.
                    guard storage.isCut else {
                        violations.append(
                            Violation(
                                crashPoint: point + 1, operation: operationLog[safe: point] ?? "?", outcome: outcome,
                                invariant: "story", detail: "failed before the cut: \(error)"))
                        continue
                    }
                }
                let operation = operationLog[safe: point] ?? "?"
                if let problem = check(storage: storage, outcome: outcome, resumes: &resumes) {
                    violations.append(
                        Violation(
                            crashPoint: point + 1, operation: operation, outcome: outcome, invariant: problem.0,
                            detail: problem.1))
                }
            }
        }
        return Report(
            crashPoints: total, outcomes: outcomes.count, runs: runs, violations: violations, resumes: resumes)
    }

    /// Crashes the cut storage with `outcome`, boots it, and checks the four invariants.
    func check(storage: FaultyStorage, outcome: PersistenceOutcome, resumes: inout Int) -> (String, String)? {
        let crashed = storage.crash(outcome)
        let cut: CutState
        do {
            cut = try cutState(durable: storage.crash(.nothingPersisted), crashed: crashed)
        } catch {
            return ("4", "the journal or the bootloader the cut left is unreadable: \(error)")
        }
        // 4, before the reboot: every durable record is there unchanged, at most the one record
        // in flight follows, and they are the story's records in the story's order.
        guard cut.entries.count >= cut.durable.count, cut.entries.count <= cut.durable.count + 1,
            Array(cut.entries.prefix(cut.durable.count)) == cut.durable
        else {
            return ("4", "the cut left \(kinds(cut.entries)), the durable records were \(kinds(cut.durable))")
        }
        guard kinds(cut.entries) == Array(storyKinds.prefix(cut.entries.count)) else {
            return ("4", "the cut left \(kinds(cut.entries)), not a prefix of the story's \(storyKinds)")
        }

        var booted: SlotLetter
        do {
            var outcome = try reboot(crashed)
            var reboots = 1
            while outcome.rebootRequested && reboots < 4 {
                outcome = try reboot(crashed)
                reboots += 1
            }
            booted = outcome.booted
        } catch {
            return ("1", "the device did not boot: \(error)")
        }
        if let problem = checkAgainstModel(cut: cut, booted: booted, storage: crashed) { return problem }

        // 2. status works and tells the truth; nothing stuck
        do {
            let device = try device(crashed)
            let status = try StatusReport.read(device: device)
            guard status.booted == booted else {
                return ("2", "status says \(String(describing: status.booted)) booted")
            }
            guard status.primary == booted else {
                return ("2", "status says the primary is \(String(describing: status.primary)), \(booted) runs")
            }
            guard status.operation == nil else { return ("2", "an operation is stuck: \(status.operation!)") }
            guard status.nextBoot == booted else {
                return ("2", "the bootloader would boot \(String(describing: status.nextBoot)) next")
            }
            _ = try InstallLock(dataDirectory: device.config.dataDirectory)
        } catch {
            return ("2", "status or the lock failed: \(error)")
        }

        // 3a. an install the cut interrupted, run again with the same bundle, resumes from the
        // journal's resume point (or starts over) and gives exactly that bundle's content
        do {
            let (state, _) = try Journal.readState(storage: crashed, directory: FilePath(simulator.directory + "/data"))
            if state.resumePoint != nil, let last = state.last, last.outcome == .failed, let version = last.version {
                let installed = try install(version, crashed)
                if installed.resumedFromOffset != nil { resumes += 1 }
                var next = try reboot(crashed)
                if version == "3.0" {
                    // v3's health check fails: it must roll back, then the device boots v2 again.
                    guard next.actions.contains(.rolledBack) else {
                        return ("3", "the resumed 3.0 was not rolled back: \(next.actions)")
                    }
                    next = try reboot(crashed)
                } else {
                    guard next.actions.contains(.committed) else {
                        return ("3", "the resumed \(version) was not committed: \(next.actions)")
                    }
                    // The classes the bundle does not carry were copied from the group it ran on.
                    let held = try content(of: next.booted, in: crashed)
                    let source = try content(of: next.booted.other, in: crashed)
                    guard let expected = expectedContent(version, over: source),
                        held.rootfs == expected.rootfs, held.firmware == expected.firmware, held.apps == expected.apps
                    else {
                        return ("1", "after resuming \(version) the booted group holds other content")
                    }
                }
            }
        } catch {
            return ("3", "installing the interrupted bundle again failed: \(error)")
        }

        // 3. installing again succeeds
        do {
            let installed = try install("4.0", crashed)
            guard installed.kind == .staged || installed.kind == .alreadyInstalled else {
                return ("3", "install of 4.0 ended \(installed.kind)")
            }
            let next = try reboot(crashed)
            guard next.actions.contains(.committed) || installed.kind == .alreadyInstalled else {
                return ("3", "4.0 was not committed after its reboot: \(next.actions)")
            }
            let held = try content(of: next.booted, in: crashed)
            guard contents.first(where: { $0.version == "4.0" })?.rootfs == held.rootfs else {
                return ("3", "after installing 4.0 the device runs other content")
            }
        } catch {
            return ("3", "installing again failed: \(error)")
        }
        return nil
    }
}

extension Array {
    subscript(safe index: Int) -> Element? { indices.contains(index) ? self[index] : nil }
}
