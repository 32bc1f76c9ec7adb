import Foundation
import SystemPackage
import Testing

@testable import TwinslotCore

@Suite struct BootGrubBackendTests {
    let storage = PosixStorage()

    @Test func provisionSetTrialCommitDisable() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let path = dir.filePath("grubenv")
        try GrubBackend.provision(path: path, primary: .a, storage: storage)
        // grub-editenv accepts the provisioned block.
        let listed = try tool(["grub-editenv", path.string, "list"]).stdout
        #expect(listed == "ORDER=A B\nA_OK=1\nA_TRY=0\nA_TRIAL=0\nB_OK=0\nB_TRY=0\nB_TRIAL=0\n")
        #expect(try dir.read("grubenv") == GrubBackend.initialBlock(primary: .a))

        let backend = GrubBackend(path: path, storage: storage)
        var state = try backend.read()
        #expect(state.slots == [.a: .good, .b: .bad])
        #expect(state.nextBoot == .a && state.primary == .a)

        try backend.disable(.b)
        try backend.setTrial(.b)
        state = try backend.read()
        #expect(state.order == [.b, .a])
        #expect(state.slots == [.a: .good, .b: .trial(attempted: false)])
        #expect(state.nextBoot == .b)
        #expect(state.primary == .a)

        try backend.commit(.b)
        state = try backend.read()
        #expect(state.slots == [.a: .good, .b: .good])
        #expect(state.nextBoot == .b && state.primary == .b)

        try backend.disable(.a)
        state = try backend.read()
        #expect(state.slots == [.a: .bad, .b: .good])
        #expect(state.nextBoot == .b && state.primary == .b)
    }

    @Test func selectionTriesATrialOnceThenFallsBack() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let path = dir.filePath("grubenv")
        try SimBackend.provision(path: path, primary: .a, storage: storage)
        let sim = SimBackend(path: path, storage: storage)
        #expect(sim.name == "sim")

        #expect(try sim.simulateBoot() == .a)
        // A committed slot is confirmed on every boot (GRUB consumed its try).
        #expect(try sim.read().slots[.a] == .trial(attempted: true))
        try sim.commit(.a)
        #expect(try sim.read().slots[.a] == .good)

        try sim.disable(.b)
        try sim.setTrial(.b)
        #expect(try sim.read().nextBoot == .b)
        #expect(try sim.simulateBoot() == .b)
        var state = try sim.read()
        #expect(state.slots[.b] == .trial(attempted: true))
        #expect(state.nextBoot == .a)
        #expect(state.primary == .a)
        // Not committed: the next boot falls back to A, and B is never tried again.
        #expect(try sim.simulateBoot() == .a)
        try sim.commit(.a)
        #expect(try sim.simulateBoot() == .a)
        try sim.commit(.a)
        state = try sim.read()
        #expect(state.slots == [.a: .good, .b: .trial(attempted: true)])

        // A committed trial stays.
        try sim.disable(.b)
        try sim.setTrial(.b)
        #expect(try sim.simulateBoot() == .b)
        try sim.commit(.b)
        #expect(try sim.simulateBoot() == .b)
        state = try sim.read()
        #expect(state.order == [.b, .a])
        #expect(state.primary == .a)  // B's try is used until the boot service confirms it
        try sim.commit(.b)
        #expect(try sim.read().primary == .b)
    }

    @Test func selectionFunctionMatchesTheSnippet() {
        var env = GrubEnvironment()
        env["ORDER"] = "X B A"
        env["A_OK"] = "1"
        env["A_TRY"] = "0"
        env["B_OK"] = "1"
        env["B_TRY"] = "1"
        let (booted, next) = GrubBootSelection.select(env)
        #expect(booted == .a)
        #expect(next["A_TRY"] == "1")
        // Every group started and none confirmed: the first committed one boots again...
        #expect(GrubBootSelection.select(next).booted == .b)
        // ...but a trial is never retried, and a group that is not OK never boots.
        var trialOnly = next
        trialOnly["B_TRIAL"] = "1"
        trialOnly["A_OK"] = "0"
        let (none, unchanged) = GrubBootSelection.select(trialOnly)
        #expect(none == nil)
        #expect(unchanged == trialOnly)
        env["A_TRY"] = nil  // a missing TRY is not "0": not chosen while B is committed
        env["B_TRIAL"] = "1"
        #expect(GrubBootSelection.select(env).booted == .a)
    }
}
