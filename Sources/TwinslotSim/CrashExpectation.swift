import SystemPackage
import TwinslotCore

/// What the device must hold after one crash and the reboots that follow it, computed from the
/// medium as the cut left it (before any reboot) and the story's model, never from what the
/// reboot wrote: the crash harness's invariants 1 and 4 (docs/crash-safety.md) compare the booted
/// device with this, exactly.
///
/// The model: every journal record the cut left stays, unchanged and in order; the reboot then
/// resolves the operation in progress (if any) the one way the bootloader's durable state at the
/// cut allows, appending exactly the records of that resolution; each group then holds the
/// bundle its history says (the version committed in it, or the version fully staged and
/// verified in it), byte for byte.
struct CrashExpectation: Equatable, CustomStringConvertible {
    /// The record kinds the reboots append after the records the cut left.
    var recoveryKinds: [String]
    /// The groups of every COMMITTED record, in order, after the reboots.
    var commits: [SlotLetter]
    /// The group the device runs after the reboots.
    var booted: SlotLetter
    /// For each group, the version whose images it must hold exactly ("factory" for the image
    /// the simulated device was created with; "V+W" for partial bundle V installed over a group
    /// holding W: V's images, W's in the classes V does not carry); nil where the group may hold
    /// anything (an install into it was cut before all its images were verified, so it is not
    /// bootable).
    var versions: [SlotLetter: String?]

    var description: String {
        let held = versions.sorted { $0.key.rawValue < $1.key.rawValue }.map {
            "\($0.key.rawValue)=\($0.value ?? "any")"
        }
        return "recovery \(recoveryKinds), commits \(commits.map(\.rawValue)), booted \(booted.rawValue), "
            + held.joined(separator: " ")
    }

    /// `entries`: the journal as the cut left it (a torn tail cut off); `boot`: the bootloader's
    /// state as the cut left it; `unhealthy`: the versions whose required health check fails.
    static func after(entries: [JournalEntry], boot: BootState, unhealthy: Set<String>) -> CrashExpectation {
        var walk = HistoryWalk()
        for entry in entries { walk.apply(entry.record) }
        var recovery: [JournalRecord] = []
        if let operation = walk.operation {
            let target = operation.target
            let healthy = !unhealthy.contains(operation.version)
            let verdict: JournalRecord =
                healthy ? .committed(target) : .rolledBack(from: target, to: target.other, reason: "")
            let trialPending = boot.slots[target] == .trial(attempted: false)
            switch walk.phase {
            case .begun, .targetDisabled, .staging:
                // The flip's bootloader write is durable before FLIPPED is journaled: a cut between
                // them leaves the trial offered, and the reboot journals FLIPPED itself.
                if walk.fullyStaged && trialPending {
                    recovery = [.flipped(target), .bootedTrial(target), verdict]
                } else {
                    recovery = [.failed(reason: "", failureClass: "")]
                }
            case .flipped:
                // The try is used up once the bootloader started the group (before BOOTED-TRIAL):
                // then it falls back and the trial is rolled back.
                recovery =
                    trialPending
                    ? [.bootedTrial(target), verdict] : [.rolledBack(from: target, to: target.other, reason: "")]
            case .bootedTrial:
                // Committed in the bootloader (the step before COMMITTED): the reboot is a new
                // boot of the trial group, so BOOTED-TRIAL once more (one per boot id), then the
                // commit again. Not committed there: the try is used up, it fell back.
                recovery =
                    boot.slots[target] == .good && healthy
                    ? [.bootedTrial(target), .committed(target)] : [verdict.asRollback]
            }
        }
        for record in recovery { walk.apply(record) }
        let booted = walk.commits.last ?? .a
        return CrashExpectation(
            recoveryKinds: recovery.map(\.kind), commits: walk.commits, booted: booted, versions: walk.held)
    }
}

/// Replays journal records the way the model reads them: which version each group holds.
struct HistoryWalk {
    struct Operation {
        var target: SlotLetter
        var version: String
        var slotClasses: Set<String>
        /// What the running group (the source of copies) held at BEGIN.
        var sourceHeld: String?
        /// A STAGED record said a slot was copied: the bundle is partial.
        var partial = false
    }

    var operation: Operation?
    var phase: DeviceState.Phase = .begun
    var staged: Set<String> = []
    var commits: [SlotLetter] = []
    /// Group A starts with the simulated device's factory image; B is installed by the harness
    /// (its BEGIN is in the journal).
    var held: [SlotLetter: String?] = [.a: "factory", .b: nil]

    var fullyStaged: Bool { operation.map { staged == $0.slotClasses } ?? false }

    mutating func apply(_ record: JournalRecord) {
        switch record {
        case .begin(let begin):
            operation = Operation(
                target: begin.target, version: begin.version, slotClasses: Set(begin.slotClasses),
                sourceHeld: held[begin.target.other] ?? nil)
            phase = .begun
            staged = []
            held[begin.target] = .some(nil)
        case .targetDisabled: phase = .targetDisabled
        case .imageStarted: break
        case .staged(let slotClass, _, _, _, let copiedFrom):
            phase = .staging
            staged.insert(slotClass)
            if copiedFrom != nil { operation?.partial = true }
            if let operation, fullyStaged {
                held[operation.target] =
                    !operation.partial ? operation.version : operation.sourceHeld.map { operation.version + "+" + $0 }
            }
        case .flipped: phase = .flipped
        case .bootedTrial: phase = .bootedTrial
        case .committed(let group):
            commits.append(group)
            if operation?.target == group { operation = nil }
        case .rolledBack, .failed:
            operation = nil
        }
    }
}

extension JournalRecord {
    fileprivate var asRollback: JournalRecord {
        if case .committed(let group) = self { return .rolledBack(from: group, to: group.other, reason: "") }
        return self
    }
}

extension CrashHarness {
    /// The medium as a cut left it, before any reboot: what the model starts from.
    struct CutState {
        /// The journal's records that were durable (fsynced) before the cut.
        var durable: [JournalEntry]
        /// The journal's records on the crashed medium (a torn tail cut off, as recovery does).
        var entries: [JournalEntry]
        /// The bootloader's state on the crashed medium.
        var boot: BootState
    }

    var dataDirectory: FilePath { FilePath(simulator.directory + "/data") }

    /// The journal's records in `storage`, as recovery reads them; `storage` is not changed.
    func journalEntries(in storage: FaultyStorage) throws -> [JournalEntry] {
        let journal = Journal(storage: storage.copy(), directory: dataDirectory)
        try journal.recover()
        return journal.entries
    }

    func cutState(durable: FaultyStorage, crashed: FaultyStorage) throws -> CutState {
        CutState(
            durable: try journalEntries(in: durable), entries: try journalEntries(in: crashed),
            boot: try SimBackend(path: FilePath(simulator.directory + "/grubenv"), storage: crashed.copy()).read())
    }

    func kinds(_ entries: [JournalEntry]) -> [String] { entries.map(\.record.kind) }

    /// Invariants 1 and 4 after the reboots, against what the model expects from `cut`: the
    /// records the cut left are all there unchanged, followed by exactly the records of the one
    /// resolution the bootloader's state allows; the committed history is the expected one; the
    /// booted group is the last committed one; and every group holds, hash for hash, the images
    /// of the version the model says (`booted`: the group that came up).
    func checkAgainstModel(cut: CutState, booted: SlotLetter, storage: FaultyStorage) -> (String, String)? {
        let expected = CrashExpectation.after(entries: cut.entries, boot: cut.boot, unhealthy: ["3.0"])
        let after: [JournalEntry]
        do {
            after = try journalEntries(in: storage)
        } catch {
            return ("4", "the journal is unreadable after the reboot: \(error)")
        }
        guard after.count >= cut.entries.count, Array(after.prefix(cut.entries.count)) == cut.entries else {
            return ("4", "the reboot changed the records the cut left: \(kinds(cut.entries)) became \(kinds(after))")
        }
        let appended = kinds(Array(after.dropFirst(cut.entries.count)))
        guard appended == expected.recoveryKinds else {
            return ("4", "the reboot journaled \(appended); the model expects \(expected)")
        }
        let commits = after.compactMap { entry -> SlotLetter? in
            if case .committed(let group) = entry.record { return group }
            return nil
        }
        guard commits == expected.commits else {
            return ("4", "committed history \(commits.map(\.rawValue)); the model expects \(expected)")
        }

        guard booted == expected.booted else {
            return ("1", "group \(booted.rawValue) booted; the model expects \(expected)")
        }
        for (group, version) in expected.versions.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
            guard let version else { continue }
            guard let want = expectedContent(version) else {
                return ("1", "the model expects group \(group.rawValue) to hold \(version), a bundle the harness lacks")
            }
            do {
                let held = try content(of: group, in: storage)
                guard held.rootfs == want.rootfs, held.firmware == want.firmware, held.apps == want.apps else {
                    return (
                        "1",
                        "group \(group.rawValue) does not hold exactly the images of \(version) "
                            + "(\(describe(held))); the model expects \(expected)"
                    )
                }
            } catch {
                return ("1", "cannot read group \(group.rawValue): \(error)")
            }
        }
        return nil
    }

    /// Names the bundle whose image each slot holds, for a violation's message.
    func describe(_ held: Content) -> String {
        func name(_ match: (Content) -> Bool) -> String { contents.first(where: match)?.version ?? "no bundle" }
        return "rootfs: \(name { $0.rootfs == held.rootfs }), firmware: \(name { $0.firmware == held.firmware }), "
            + "apps: \(name { $0.apps == held.apps })"
    }
}
