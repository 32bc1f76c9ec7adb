import Foundation
import SystemPackage
import TestSupport
import Testing

@testable import TwinslotCore
@testable import TwinslotSim

enum SimFixtures {
    static func pki() throws -> String { try TestEnvironment.pki() }

    static func harness(_ label: String, story: CrashHarness.Story = .full) throws -> CrashHarness {
        let pki = try pki()
        let directory = NSTemporaryDirectory() + "twinslot-crash-\(label)-\(UUID().uuidString.prefix(8))"
        return try CrashHarness(
            directory: directory,
            identity: try SigningIdentity(
                certificatePEM: pki + "/signer.pem", privateKeyPEM: pki + "/signer.key",
                chainPEM: pki + "/signer-chain.pem"),
            keyringPath: pki + "/keyring.pem", story: story)
    }
}

@Suite struct FaultyStorageTests {
    func storage() throws -> (FaultyStorage, String) {
        let directory = NSTemporaryDirectory() + "twinslot-faulty-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: directory + "/old", contents: Data("old content".utf8))
        return (try FaultyStorage.load(from: directory), directory)
    }

    @Test func unsyncedWritesAreLostAndSyncedOnesKept() throws {
        let (storage, directory) = try storage()
        let file = try storage.open(.init(directory + "/old"), create: false)
        try file.write(Array("NEW".utf8), at: 0)
        #expect(storage.contents(directory + "/old") == Array("NEW content".utf8))
        #expect(storage.crash(.nothingPersisted).contents(directory + "/old") == Array("old content".utf8))
        #expect(storage.crash(.everythingPersisted).contents(directory + "/old") == Array("NEW content".utf8))
        try file.sync()
        #expect(storage.crash(.nothingPersisted).contents(directory + "/old") == Array("NEW content".utf8))
    }

    @Test func aRenameIsDurableOnlyAfterTheDirectorySync() throws {
        let (storage, directory) = try storage()
        try storage.replaceFile(.init(directory + "/new"), with: [1, 2, 3])  // write, sync, rename, dir sync
        let created = try storage.open(.init(directory + "/other"), create: true)
        try created.write([9], at: 0)
        try created.sync()
        try storage.rename(.init(directory + "/other"), to: .init(directory + "/renamed"))
        let lost = storage.crash(.nothingPersisted)
        #expect(lost.contents(directory + "/new") == [1, 2, 3])
        #expect(lost.contents(directory + "/renamed") == nil)
        #expect(lost.contents(directory + "/other") == nil, "its creation was not durable either")
        #expect(storage.crash(.everythingPersisted).contents(directory + "/renamed") == [9])
    }

    @Test func aTornWriteKeepsWholeSectors() throws {
        let (storage, directory) = try storage()
        let file = try storage.open(.init(directory + "/old"), create: false)
        try file.write([UInt8](repeating: 0xAA, count: 2048), at: 0)
        let torn = storage.crash(.tornLastWrite).contents(directory + "/old")!
        let kept = torn.prefix { $0 == 0xAA }.count
        #expect(kept % 512 == 0 && kept >= 512 && kept < 2048)
    }

    /// A raw slot is never created (a wrong device name must not become a file that reads
    /// back "OK"): the writer refuses a missing one and leaves no name behind, even durably.
    @Test func aRawSlotIsNeverCreated() throws {
        let (storage, directory) = try storage()
        #expect(throws: SlotError.self) {
            _ = try RawSlotWriter(storage: storage, path: .init(directory + "/new-slot.img"), size: 4)
        }
        #expect(storage.fileKind(.init(directory + "/new-slot.img")) == nil)
        #expect(storage.crash(.everythingPersisted).contents(directory + "/new-slot.img") == nil)
    }

    @Test func thePowerCutStopsEverything() throws {
        let (storage, directory) = try storage()
        storage.cutPower(after: 1)
        let file = try storage.open(.init(directory + "/old"), create: false)
        try file.write([1], at: 0)
        #expect(throws: PowerCut.self) { try file.sync() }
        #expect(throws: PowerCut.self) { try storage.readFile(.init(directory + "/old")) }
    }
}

@Suite(.serialized) struct CrashHarnessTests {
    /// Every crash point of the story under the deterministic outcomes and two random subsets.
    @Test func everyCrashPointKeepsTheInvariants() throws {
        let harness = try SimFixtures.harness("all")
        // scripts/crash-report.sh digs deeper with more random subsets.
        let seeds = UInt64(ProcessInfo.processInfo.environment["TWINSLOT_CRASH_SEEDS"] ?? "") ?? 1
        let report = try harness.run(
            outcomes: [.nothingPersisted, .everythingPersisted, .tornLastWrite]
                + (1...max(1, seeds)).map { .randomSubset(seed: $0) })
        #expect(report.crashPoints > 50)
        #expect(report.resumes > 0, "no crash point exercised resuming the interrupted install")
        for violation in report.violations.prefix(10) { Issue.record("\(violation)") }
        #expect(report.violations.isEmpty)
        print(
            "crash points: \(report.crashPoints), outcomes: \(report.outcomes), runs: \(report.runs), "
                + "resumes: \(report.resumes), violations: \(report.violations.count)")
    }

    /// The partial story (a rootfs-only bundle, then an apps-only one): every crash point, the
    /// copies from the running group included, leaves each group holding exactly the carried
    /// images and the running group's content in the other classes.
    @Test func everyCrashPointOfThePartialStoryKeepsTheInvariants() throws {
        let harness = try SimFixtures.harness("partial", story: .partial)
        // Two outcomes in the suite (a torn last write keeps every other write, as everything
        // persisted does); scripts/crash-report.sh adds that one and its random subsets.
        let seeds = UInt64(ProcessInfo.processInfo.environment["TWINSLOT_CRASH_SEEDS"] ?? "") ?? 0
        let report = try harness.run(
            outcomes: [.nothingPersisted, .tornLastWrite]
                + (seeds > 0 ? [.everythingPersisted] + (1...seeds).map { .randomSubset(seed: $0) } : []))
        #expect(report.crashPoints > 50)
        #expect(harness.operationLog.contains { $0.contains("firmware-a.img") }, "the firmware copy into A")
        for violation in report.violations.prefix(10) { Issue.record("\(violation)") }
        #expect(report.violations.isEmpty)
        print(
            "partial story: crash points: \(report.crashPoints), outcomes: \(report.outcomes), "
                + "runs: \(report.runs), violations: \(report.violations.count)")
    }

    /// The crash point that found the pipeline hang: the power cut at the first write of an
    /// image into its slot (the sink fails inside the pipeline's second thread).
    @Test func regressionTheCutInsideTheFirstImageWrite() throws {
        let harness = try SimFixtures.harness("regression")
        _ = try harness.countOperations()
        let point = try #require(
            harness.operationLog.firstIndex { $0.hasPrefix("write") && $0.contains("rootfs-a.img") })
        let report = try harness.run(outcomes: [.nothingPersisted, .tornLastWrite], points: [point])
        #expect(report.runs == 2)
        #expect(report.violations.isEmpty)
    }

    /// The harness catches a broken order: images not fsynced before the flip (the raw slots'
    /// fsyncs lie).
    @Test func theHarnessCatchesAMissingImageSync() throws {
        let harness = try SimFixtures.harness("broken")
        harness.breakImageSync()
        let report = try harness.run(outcomes: [.nothingPersisted])
        #expect(!report.violations.isEmpty)
        #expect(report.violations.contains { $0.invariant == "1" })
    }
}

/// The crash harness's model (invariants 1 and 4) against states a wrong recovery could leave,
/// each one the old checks accepted ("some bundle's images", "at least as many commits").
@Suite struct CrashModelTests {
    /// The story run to its end without a cut: the state the model is checked against.
    func ended(_ label: String, story: CrashHarness.Story = .full) throws -> (
        CrashHarness, FaultyStorage, CrashHarness.CutState
    ) {
        let harness = try SimFixtures.harness(label, story: story)
        _ = try harness.countOperations()
        let storage = harness.base.copy()
        try harness.story(storage)
        let cut = try harness.cutState(durable: storage.crash(.nothingPersisted), crashed: storage)
        return (harness, storage, cut)
    }

    func bytes(_ path: String) throws -> [UInt8] { Array(try Data(contentsOf: URL(fileURLWithPath: path))) }

    /// The model's checks flag the state in `storage` as a violation of `invariant`.
    func expectFlagged(
        _ harness: CrashHarness, _ cut: CrashHarness.CutState, _ storage: FaultyStorage, invariant: String,
        saying message: String
    ) throws {
        let problem = try #require(harness.checkAgainstModel(cut: cut, booted: .a, storage: storage))
        #expect(problem.0 == invariant)
        #expect(problem.1.contains(message), "\(problem.1)")
    }

    func slotPath(_ harness: CrashHarness, _ name: String, _ group: SlotLetter) -> FilePath {
        FilePath(harness.simulator.config().slotClass(named: name)!.path(for: group))
    }

    @Test func theUncutStoryMatchesTheModel() throws {
        let (harness, storage, cut) = try ended("model-clean")
        #expect(harness.checkAgainstModel(cut: cut, booted: .a, storage: storage) == nil)
        let expected = CrashExpectation.after(entries: cut.entries, boot: cut.boot, unhealthy: ["3.0"])
        #expect(expected.booted == .a)
        #expect(expected.versions[.a] == "2.0")
        #expect(expected.versions[.b] == "3.0", "v3 was fully staged and verified before its rollback")
        #expect(expected.recoveryKinds.isEmpty)
    }

    /// The booted group holds v1's images, an older committed bundle: a revert the old check
    /// ("the images of one of the harness's bundles") let pass.
    @Test func anOlderCommittedBundleInTheBootedGroupIsFlagged() throws {
        let (harness, storage, cut) = try ended("model-revert")
        let v1 = harness.directory + "/content-1.0"
        try storage.replaceFile(
            slotPath(harness, "rootfs", .a), with: try bytes(v1 + "/rootfs.img")
        )
        try storage.replaceFile(
            slotPath(harness, "firmware", .a),
            with: try bytes(v1 + "/firmware.img"))
        let apps = slotPath(harness, "apps", .a)
        try storage.replaceFile(
            apps.appending("VERSION"), with: try bytes(v1 + "/apps/VERSION"))
        try storage.replaceFile(
            apps.appending("lib/app.bin"),
            with: try bytes(v1 + "/apps/lib/app.bin"))
        let held = try harness.content(of: .a, in: storage)
        #expect(
            harness.contents.contains {
                $0.rootfs == held.rootfs && $0.firmware == held.firmware && $0.apps == held.apps
            },
            "the old invariant 1 accepted this")
        try expectFlagged(
            harness, cut, storage, invariant: "1", saying: "group A does not hold exactly the images of 2.0")
    }

    /// One image of the rolled-back v3 in group B replaced by v2's: the other group is checked too.
    @Test func anotherBundlesImageInTheOtherGroupIsFlagged() throws {
        let (harness, storage, cut) = try ended("model-other")
        let v2 = harness.directory + "/content-2.0"
        try storage.replaceFile(
            slotPath(harness, "firmware", .b),
            with: try bytes(v2 + "/firmware.img"))
        try expectFlagged(
            harness, cut, storage, invariant: "1", saying: "group B does not hold exactly the images of 3.0")
    }

    /// The partial story's groups: A holds 1.1's rootfs over 1.0 (its firmware and apps copied
    /// from B), B holds 1.2's apps over that; the model names both, and the device matches.
    @Test func thePartialStoryMatchesTheModel() throws {
        let (harness, storage, cut) = try ended("model-partial", story: .partial)
        let expected = CrashExpectation.after(entries: cut.entries, boot: cut.boot, unhealthy: [])
        #expect(expected.versions[.a] == "1.1+1.0")
        #expect(expected.versions[.b] == "1.2+1.1+1.0")
        #expect(expected.booted == .b)
        #expect(harness.checkAgainstModel(cut: cut, booted: .b, storage: storage) == nil)
        let a = try harness.content(of: .a, in: storage)
        let b = try harness.content(of: .b, in: storage)
        #expect(a.firmware == b.firmware && a.rootfs == b.rootfs && a.apps != b.apps)
    }

    /// A slot the partial install should have copied but that kept an older bundle's image (a
    /// missing copy) is flagged: the flip would boot stale content there.
    @Test func aStaleSlotAfterAPartialInstallIsFlagged() throws {
        let (harness, storage, cut) = try ended("model-stale", story: .partial)
        try storage.replaceFile(
            slotPath(harness, "firmware", .b), with: try bytes(harness.directory + "/content-1.2/firmware.img"))
        let problem = try #require(harness.checkAgainstModel(cut: cut, booted: .b, storage: storage))
        #expect(problem.0 == "1")
        #expect(problem.1.contains("group B does not hold exactly the images of 1.2+1.1+1.0"), "\(problem.1)")
    }

    /// v2's COMMITTED replaced by a FAILED and v3's ROLLED-BACK by a COMMITTED: as many commits as
    /// before (the old invariant 4 compared that count), but the committed history is another.
    @Test func aCommittedRecordReplacedBySameCountIsFlagged() throws {
        let (harness, storage, cut) = try ended("model-journal")
        var entries = cut.entries
        let v2Commit = try #require(entries.lastIndex { $0.record == .committed(.a) })
        let v3Rollback = try #require(entries.lastIndex { $0.record.kind == "ROLLED-BACK" })
        entries[v2Commit].record = .failed(reason: "replaced", failureClass: "io")
        entries[v3Rollback].record = .committed(.b)
        let path = harness.dataDirectory.appending(Journal.fileName)
        try storage.replaceFile(path, with: entries.flatMap { Journal.frame($0) })
        #expect(try harness.journalEntries(in: storage) == entries)
        #expect(
            DeviceState.replay(snapshot: nil, entries: entries).counters.commits
                == DeviceState.replay(snapshot: nil, entries: cut.entries).counters.commits,
            "the old invariant 4 accepted this")
        try expectFlagged(harness, cut, storage, invariant: "4", saying: "the reboot changed the records the cut left")
    }

    /// A reboot that appends a record the model does not expect (a second COMMITTED) is flagged.
    @Test func anUnexpectedRecoveryRecordIsFlagged() throws {
        let (harness, storage, cut) = try ended("model-extra")
        let journal = Journal(storage: storage, directory: harness.dataDirectory)
        try journal.recover()
        try journal.append(.committed(.a))
        try expectFlagged(harness, cut, storage, invariant: "4", saying: "the reboot journaled [\"COMMITTED\"]")
    }

    /// The model's reading of a cut in flight: an install whose images were all verified and
    /// whose trial the bootloader durably offers is flipped by the reboot, not failed.
    @Test func theModelFollowsTheBootloaderAtTheFlip() throws {
        let (_, _, cut) = try ended("model-flip")
        let v3Flip = try #require(cut.entries.lastIndex { $0.record == .flipped(.b) })
        let beforeFlip = Array(cut.entries[..<v3Flip])
        let offered = BootState(order: [.b, .a], slots: [.a: .good, .b: .trial(attempted: false)])
        let notOffered = BootState(order: [.a, .b], slots: [.a: .good, .b: .bad])
        let flipped = CrashExpectation.after(entries: beforeFlip, boot: offered, unhealthy: ["3.0"])
        #expect(flipped.recoveryKinds == ["FLIPPED", "BOOTED-TRIAL", "ROLLED-BACK"])
        #expect(flipped.booted == .a)
        let failed = CrashExpectation.after(entries: beforeFlip, boot: notOffered, unhealthy: ["3.0"])
        #expect(failed.recoveryKinds == ["FAILED"])
        let healthy = CrashExpectation.after(entries: beforeFlip, boot: offered, unhealthy: [])
        #expect(healthy.recoveryKinds == ["FLIPPED", "BOOTED-TRIAL", "COMMITTED"])
        #expect(healthy.booted == .b && healthy.versions[.b] == "3.0")
    }

    /// A cut after v2's BOOTED-TRIAL: committed in the bootloader, the reboot is another trial
    /// boot (BOOTED-TRIAL again, once per boot id) and commits; not committed, it fell back.
    @Test func theModelFollowsTheBootloaderAfterTheTrialBoot() throws {
        let (_, _, cut) = try ended("model-trial")
        let v2Trial = try #require(
            cut.entries.firstIndex {
                if case .bootedTrial(.a, _) = $0.record { return true }
                return false
            })
        let upToTrial = Array(cut.entries[...v2Trial])
        let committed = BootState(order: [.a, .b], slots: [.a: .good, .b: .good])
        let usedUp = BootState(order: [.a, .b], slots: [.a: .trial(attempted: true), .b: .good])
        let commit = CrashExpectation.after(entries: upToTrial, boot: committed, unhealthy: ["3.0"])
        #expect(commit.recoveryKinds == ["BOOTED-TRIAL", "COMMITTED"])
        #expect(commit.booted == .a && commit.versions[.a] == "2.0")
        let fellBack = CrashExpectation.after(entries: upToTrial, boot: usedUp, unhealthy: ["3.0"])
        #expect(fellBack.recoveryKinds == ["ROLLED-BACK"])
        #expect(fellBack.booted == .b && fellBack.versions[.b] == "1.0")
    }
}
