import Foundation
import SystemPackage
import Testing

@testable import TwinslotCore

@Suite struct BootGrubEnvironmentTests {
    let storage = PosixStorage()

    @Test func readsWhatGrubEditenvWrote() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let env = dir.path("grubenv")
        try tool(["grub-editenv", env, "create"])
        try tool(["grub-editenv", env, "set", "ORDER=B A", "A_OK=1", "A_TRY=0", "B_OK=1", "B_TRY=1"])
        let parsed = try GrubEnvironment.read(from: FilePath(env), storage: storage)
        #expect(parsed["ORDER"] == "B A")
        #expect(parsed["A_OK"] == "1")
        #expect(parsed["B_TRY"] == "1")
        #expect(parsed.variables.count == 5)
        // Re-serializing what grub-editenv wrote gives back its exact bytes (comments kept).
        #expect(try parsed.serialized() == dir.read("grubenv"))

        let state = GrubBackend.state(of: parsed)
        #expect(state.order == [.b, .a])
        #expect(state.slots[.a] == .good)
        #expect(state.slots[.b] == .trial(attempted: true))
        #expect(state.nextBoot == .a)
        #expect(state.primary == .a)
    }

    @Test func grubEditenvListsWhatTwinslotWrote() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let env = dir.path("grubenv")
        try tool(["grub-editenv", env, "create"])
        try tool(["grub-editenv", env, "set", "other=kept", "ORDER=A B", "A_OK=1", "A_TRY=0"])
        let backend = GrubBackend(path: FilePath(env), storage: storage)
        try backend.setTrial(.b)
        let listed = try tool(["grub-editenv", env, "list"]).stdout
        #expect(
            Set(listed.split(separator: "\n").map(String.init)) == [
                "ORDER=B A", "A_OK=1", "A_TRY=0", "B_OK=1", "B_TRY=0", "B_TRIAL=1", "other=kept",
            ])
        #expect(try backend.read().slots[.b] == .trial(attempted: false))
        #expect(try dir.read("grubenv").count == 1024)
    }

    @Test func escapesRoundTripWithGrubEditenv() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let env = dir.path("grubenv")
        try tool(["grub-editenv", env, "create"])
        let tricky = "back\\slash\nnew line \\\\ end\\"
        try tool(["grub-editenv", env, "set", "X=\(tricky)"])
        var parsed = try GrubEnvironment.read(from: FilePath(env), storage: storage)
        #expect(parsed["X"] == tricky)

        parsed["Y"] = tricky + "2"
        try parsed.write(to: FilePath(env), storage: storage)
        let listed = try tool(["grub-editenv", env, "list"]).stdout
        #expect(listed == "X=\(tricky)\nY=\(tricky)2\n")
        #expect(try GrubEnvironment.read(from: FilePath(env), storage: storage) == parsed)
        // The bytes are the ones grub-editenv writes for the same variables.
        try tool(["grub-editenv", dir.path("other"), "create"])
        try tool(["grub-editenv", dir.path("other"), "set", "X=\(tricky)", "Y=\(tricky)2"])
        #expect(try dir.read("other") == dir.read("grubenv"))
    }

    @Test func refusesBadBlocksNamingTheFile() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        try dir.write("short", [UInt8](repeating: UInt8(ascii: "#"), count: 1000))
        try dir.write("noheader", Array("# Not GRUB\n".utf8) + [UInt8](repeating: UInt8(ascii: "#"), count: 1013))
        for name in ["short", "noheader"] {
            let error = #expect(throws: BootError.self) {
                _ = try GrubEnvironment.read(from: dir.filePath(name), storage: storage)
            }
            #expect(error?.description.contains(dir.path(name)) == true)
            #expect(error?.failureClass == .state)
        }
        try tool(["grub-editenv", dir.path("grubenv"), "create"])
        let before = try dir.read("grubenv")
        var big = GrubEnvironment()
        big["HUGE"] = String(repeating: "x", count: 1000)
        let error = #expect(throws: BootError.self) { try big.write(to: dir.filePath("grubenv"), storage: storage) }
        #expect(error?.description.contains(dir.path("grubenv")) == true)
        #expect(try dir.read("grubenv") == before)
        // Never created: rewriting needs an existing block.
        #expect(throws: BootError.self) { try big.write(to: dir.filePath("absent"), storage: storage) }
    }

    @Test func writesOnlyTheFirstSectorWhenTheSecondIsUnchanged() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let path = dir.filePath("grubenv")
        try GrubBackend.provision(path: path, primary: .a, storage: storage)
        let recording = RecordingStorage()
        let backend = GrubBackend(path: path, storage: recording)
        try backend.setTrial(.b)
        try backend.commit(.b)
        try backend.disable(.a)
        #expect(recording.writes.count == 3)
        #expect(recording.writes.allSatisfy { $0.offset == 0 && $0.count == 512 })
        #expect(recording.syncs == 3)
        let bytes = try dir.read("grubenv")
        #expect(bytes.count == 1024)
        #expect(bytes[512...].allSatisfy { $0 == UInt8(ascii: "#") })
    }

    @Test func tornWriteParsesToOldOrNew() throws {
        // Small environment: everything in sector one.
        let old = GrubBackend.initialEnvironment(primary: .a)
        var new = old
        new["ORDER"] = "B A"
        new["B_OK"] = "1"
        new["B_TRIAL"] = "1"
        let oldBytes = try old.serialized()
        let newBytes = try new.serialized()
        let torn = Array(newBytes[..<512] + oldBytes[512...])
        let parsed = try GrubEnvironment(parsing: torn, source: "torn")
        #expect(parsed == new)
        let tornOther = Array(oldBytes[..<512] + newBytes[512...])
        #expect(try GrubEnvironment(parsing: tornOther, source: "torn") == old)

        // Large environment: lines never straddle the sector boundary, scheme variables first.
        var bigOld = old
        for index in 0..<12 { bigOld["USER_\(index)"] = String(repeating: "v", count: 40) }
        bigOld.moveToFront(GrubBackend.schemeVariables)
        var bigNew = bigOld
        bigNew["ORDER"] = "B A"
        bigNew["B_OK"] = "1"
        bigNew["USER_11"] = String(repeating: "w", count: 40)
        let bigOldBytes = try bigOld.serialized()
        let bigNewBytes = try bigNew.serialized()
        #expect(bigOldBytes[511] == UInt8(ascii: "\n"))
        for bytes in [
            Array(bigNewBytes[..<512] + bigOldBytes[512...]), Array(bigOldBytes[..<512] + bigNewBytes[512...]),
        ] {
            let parsed = try GrubEnvironment(parsing: bytes, source: "torn")
            let state = GrubBackend.state(of: parsed)
            #expect(state == GrubBackend.state(of: bigOld) || state == GrubBackend.state(of: bigNew))
            #expect(parsed.variables.count == bigOld.variables.count)
        }
        #expect(try GrubEnvironment(parsing: bigNewBytes, source: "big") == bigNew)
    }

    @Test func grubEditenvReadsTheTwoSectorLayout() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let path = dir.filePath("grubenv")
        try GrubBackend.provision(path: path, primary: .a, storage: storage)
        var env = try GrubEnvironment.read(from: path, storage: storage)
        for index in 0..<12 { env["USER_\(index)"] = String(repeating: "v", count: 40) }
        try env.write(to: path, storage: storage)
        let listed = try tool(["grub-editenv", path.string, "list"]).stdout
        let expected = env.variables.map { "\($0.name)=\($0.value)" }.joined(separator: "\n") + "\n"
        #expect(listed == expected)
    }
}
