import Foundation
import TestSupport
import Testing

@testable import TwinslotCore
@testable import TwinslotSim

enum SimFixtures {
    static func pki() throws -> String { try TestEnvironment.pki() }

    static func harness(_ label: String) throws -> CrashHarness {
        let pki = try pki()
        let directory = NSTemporaryDirectory() + "twinslot-crash-\(label)-\(UUID().uuidString.prefix(8))"
        return try CrashHarness(
            directory: directory,
            identity: try SigningIdentity(
                certificatePEM: pki + "/signer.pem", privateKeyPEM: pki + "/signer.key",
                chainPEM: pki + "/signer-chain.pem"),
            keyringPath: pki + "/keyring.pem")
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

    /// The harness catches a broken order: images not fsynced before the flip.
    @Test func theHarnessCatchesAMissingImageSync() throws {
        let harness = try SimFixtures.harness("broken")
        CrashTestKnobs.skipImageSync = true
        defer { CrashTestKnobs.skipImageSync = false }
        let report = try harness.run(outcomes: [.nothingPersisted])
        #expect(!report.violations.isEmpty)
        #expect(report.violations.contains { $0.invariant == "1" })
    }
}
