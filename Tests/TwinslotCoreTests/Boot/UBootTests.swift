import Foundation
import SystemPackage
import Testing

@testable import TwinslotCore

@Suite struct BootUBootTests {
    let storage = PosixStorage()
    static let size = 0x4000

    /// Zero-filled environment files and a config; fw_setenv needs the device to exist, and
    /// `-f FILE` (a default environment, here empty) while no copy has a valid CRC.
    func setUp(_ dir: TempDir, redundant: Bool, oneFile: Bool = false) throws -> (
        cfg: String, config: UBootEnvironmentConfig
    ) {
        let zero = [UInt8](repeating: 0, count: Self.size)
        try dir.write("defaults", "")
        let text: String
        if oneFile {
            try dir.write("env", zero + zero)
            text = "\(dir.path("env")) 0x0 0x4000\n\(dir.path("env")) 0x4000 0x4000\n"
        } else if redundant {
            try dir.write("env1", zero)
            try dir.write("env2", zero)
            text = "# device offset size\n\(dir.path("env1")) 0x0 0x4000\n\(dir.path("env2")) 0x0 0x4000 0x4000\n"
        } else {
            try dir.write("env", zero)
            text = "\(dir.path("env")) 0x0 0x4000\n"
        }
        try dir.write("fw_env.config", text)
        let config = try UBootEnvironmentConfig.load(from: dir.filePath("fw_env.config"), storage: storage)
        return (dir.path("fw_env.config"), config)
    }

    func printenv(_ cfg: String) throws -> [String] {
        try tool(["fw_printenv", "-c", cfg]).stdout.split(separator: "\n").map(String.init)
    }

    @Test func crc32KnownValue() {
        #expect(CRC32.checksum(Array("123456789".utf8)) == 0xCBF4_3926)
        #expect(CRC32.checksum([UInt8]()) == 0)
        // zlib's crc32 continued across pieces, and a collection without contiguous storage.
        let digits = Array("123456789".utf8)
        #expect(CRC32.checksum(digits[5...], continuing: CRC32.checksum(digits[..<5])) == 0xCBF4_3926)
        #expect(CRC32.checksum(digits.lazy.map { $0 }) == 0xCBF4_3926)
    }

    @Test func configParsing() throws {
        let config = try UBootEnvironmentConfig(
            parsing: "# c\n/dev/mmcblk0 0x400000 4000\n/dev/mmcblk0 010 0x4000 0x200 1\n")
        #expect(config.copies[0] == UBootEnvironmentCopy(path: "/dev/mmcblk0", offset: 0x400000, size: 0x4000))
        #expect(config.copies[1].offset == 8)
        #expect(config.redundant)
        #expect(throws: BootError.self) { _ = try UBootEnvironmentConfig(parsing: "# nothing\n") }
    }

    @Test func singleLayoutInteroperatesWithFwTools() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let (cfg, config) = try setUp(dir, redundant: false)
        try tool(["fw_setenv", "-c", cfg, "-f", dir.path("defaults"), "foo", "bar"])
        let store = UBootEnvironmentStore(config: config, storage: storage)
        var env = try store.read()
        #expect(env.variables == ["foo": "bar"])

        env["x"] = "1 2 3"
        env["bootcmd"] = "run a; run b"
        try store.write(env)
        #expect(try printenv(cfg) == ["bootcmd=run a; run b", "foo=bar", "x=1 2 3"])
        // The same entries fw_setenv writes for the same variables (its padding after the
        // terminator is whatever its heap buffer held, so only the entries are compared; ours
        // is all 0x00, as U-Boot's saveenv pads).
        let mine = try dir.read("env")
        try dir.write("env", [UInt8](repeating: 0, count: Self.size))
        try tool(["fw_setenv", "-c", cfg, "-f", dir.path("defaults"), "foo", "bar"])
        try tool(["fw_setenv", "-c", cfg, "x", "1 2 3"])
        try tool(["fw_setenv", "-c", cfg, "bootcmd", "run a; run b"])
        let theirs = try dir.read("env")
        let entries = 4..<(4 + "bootcmd=run a; run b\0foo=bar\0x=1 2 3\0\0".utf8.count)
        #expect(theirs[entries] == mine[entries])
        #expect(mine[entries.upperBound...].allSatisfy { $0 == 0 })
    }

    @Test func redundantLayoutWritesTheInactiveCopy() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let (cfg, config) = try setUp(dir, redundant: true)
        try tool(["fw_setenv", "-c", cfg, "-f", dir.path("defaults"), "foo", "one"])  // copy 2, flag 1
        try tool(["fw_setenv", "-c", cfg, "foo", "two"])  // copy 1, flag 2
        let store = UBootEnvironmentStore(config: config, storage: storage)
        var snapshot = try store.snapshot()
        #expect(snapshot.activeIndex == 0)
        #expect(snapshot.copies.map(\.flags) == [2, 1])
        #expect(snapshot.environment?.variables == ["foo": "two"])

        let active = try dir.read("env1")
        var env = try store.read()
        env["foo"] = "three"
        env["BOOT_ORDER"] = "A B"
        #expect(try store.write(env) == 1)
        #expect(try dir.read("env1") == active)  // the active copy is never touched
        snapshot = try store.snapshot()
        #expect(snapshot.activeIndex == 1)
        #expect(snapshot.copies[1].flags == 3)
        #expect(try printenv(cfg) == ["BOOT_ORDER=A B", "foo=three"])

        // fw_setenv continues from twinslot's copy.
        try tool(["fw_setenv", "-c", cfg, "foo", "four"])
        #expect(try store.read()["foo"] == "four")
        #expect(try store.snapshot().activeIndex == 0)
    }

    @Test func corruptNewerCopyFallsBackToTheOlder() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let (cfg, config) = try setUp(dir, redundant: true)
        try tool(["fw_setenv", "-c", cfg, "-f", dir.path("defaults"), "foo", "old"])  // env2
        try tool(["fw_setenv", "-c", cfg, "foo", "new"])  // env1, newer
        var bytes = try dir.read("env1")
        bytes[0] ^= 0xFF  // bad CRC
        try dir.write("env1", bytes)
        let store = UBootEnvironmentStore(config: config, storage: storage)
        #expect(try store.read()["foo"] == "old")
        #expect(try printenv(cfg) == ["foo=old"])
        // Writing goes over the corrupt copy, never over the good one.
        let good = try dir.read("env2")
        var env = try store.read()
        env["foo"] = "mine"
        #expect(try store.write(env) == 0)
        #expect(try dir.read("env2") == good)
        #expect(try printenv(cfg) == ["foo=mine"])
    }

    @Test func redundantInOneFileAndFlagWrap() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let (cfg, config) = try setUp(dir, redundant: true, oneFile: true)
        // Copy 0 with flag 0xFF, written by hand; twinslot's next write wraps to 0 and wins.
        let wrapped = try UBootEnvironment(variables: ["foo": "ff"]).encodeImage(
            size: Self.size, flags: 0xFF, source: "test")
        var file = wrapped + [UInt8](repeating: 0, count: Self.size)
        try dir.write("env", file)
        #expect(try printenv(cfg) == ["foo=ff"])
        let store = UBootEnvironmentStore(config: config, storage: storage)
        #expect(try store.write(UBootEnvironment(variables: ["foo": "zero"])) == 1)
        #expect(try store.snapshot().copies.map(\.flags) == [0xFF, 0])
        #expect(try store.read()["foo"] == "zero")
        #expect(try printenv(cfg) == ["foo=zero"])
        file = try dir.read("env")
        #expect(Array(file[..<Self.size]) == wrapped)

        let copy = { (flags: UInt8) in UBootEnvironment.DecodedCopy(environment: UBootEnvironment(), flags: flags) }
        #expect(UBootEnvironment.activeIndex([copy(0), copy(0xFF)]) == 0)
        #expect(UBootEnvironment.activeIndex([copy(0xFF), copy(0)]) == 1)
        #expect(UBootEnvironment.activeIndex([copy(5), copy(5)]) == 0)
        #expect(UBootEnvironment.activeIndex([copy(4), copy(5)]) == 1)
        #expect(UBootEnvironment.activeIndex([UBootEnvironment.DecodedCopy(environment: nil, flags: 9), copy(1)]) == 1)
    }

    @Test func noValidCopyAndOverflowAreErrors() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let (_, config) = try setUp(dir, redundant: true)
        let store = UBootEnvironmentStore(config: config, storage: storage)
        let error = #expect(throws: BootError.self) { _ = try store.read() }
        #expect(error?.description.contains(dir.path("env1")) == true)
        let huge = UBootEnvironment(variables: ["big": String(repeating: "x", count: Self.size)])
        #expect(throws: BootError.self) { try store.write(huge) }
    }

    @Test func backendSemantics() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let (cfg, config) = try setUp(dir, redundant: true)
        try tool(["fw_setenv", "-c", cfg, "-f", dir.path("defaults"), "bootcmd", "run twinslot"])
        let backend = try UBootBackend(config: config, storage: storage, attempts: 3)
        #expect(throws: BootError.self) { _ = try UBootBackend(config: config, storage: storage, attempts: 0) }
        try backend.provision(primary: .a)
        #expect(
            try printenv(cfg) == [
                "BOOT_A_LEFT=3", "BOOT_A_TRIAL=0", "BOOT_B_LEFT=0", "BOOT_B_TRIAL=0", "BOOT_ORDER=A",
                "bootcmd=run twinslot",
            ])
        var state = try backend.read()
        #expect(state.slots == [.a: .good, .b: .bad])
        #expect(state.order == [.a, .b])
        #expect(state.nextBoot == .a && state.primary == .a)

        try backend.disable(.b)
        try backend.setTrial(.b)
        state = try backend.read()
        #expect(state.order == [.b, .a])
        #expect(state.slots == [.a: .good, .b: .trial(attempted: false)])
        #expect(state.nextBoot == .b && state.primary == .a)

        // The boot script's choice: B once, then back to A.
        let store = backend.store
        var (booted, env) = UBootBootSelection.select(try store.read())
        #expect(booted == .b)
        try store.write(env)
        state = try backend.read()
        #expect(state.slots[.b] == .trial(attempted: true))
        #expect(state.nextBoot == .a)
        (booted, env) = UBootBootSelection.select(env)
        #expect(booted == .a)
        #expect(env["BOOT_A_LEFT"] == "2")
        // A's attempts all used up unconfirmed: A (committed) boots again; B's trial never does.
        var exhausted = env
        exhausted["BOOT_A_LEFT"] = "0"
        #expect(UBootBootSelection.select(exhausted).booted == .a)
        exhausted["BOOT_A_TRIAL"] = "1"
        #expect(UBootBootSelection.select(exhausted).booted == nil)

        try backend.commit(.b)
        state = try backend.read()
        #expect(state.slots == [.a: .good, .b: .good])
        #expect(try store.read()["BOOT_B_LEFT"] == "3")
        #expect(state.nextBoot == .b && state.primary == .b)

        try backend.disable(.a)
        state = try backend.read()
        #expect(state.order == [.b, .a])
        #expect(state.slots == [.a: .bad, .b: .good])
        #expect(try printenv(cfg).contains("BOOT_ORDER=B"))
        #expect(try store.read()["bootcmd"] == "run twinslot")
    }

    /// dist/u-boot/boot.cmd (what scripts/uboot-test.sh runs on the real U-Boot) is the boot
    /// script block of docs/bootloaders.md, byte for byte.
    @Test func shippedBootScriptIsTheDocumentedOne() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        let docs = try String(contentsOf: root.appendingPathComponent("docs/bootloaders.md"), encoding: .utf8)
        let shipped = try String(contentsOf: root.appendingPathComponent("dist/u-boot/boot.cmd"), encoding: .utf8)
        let section = try #require(docs.range(of: "### Boot script (hush)"))
        let rest = docs[section.upperBound...]
        let open = try #require(rest.range(of: "```\n"))
        let close = try #require(rest[open.upperBound...].range(of: "\n```\n"))
        #expect(String(rest[open.upperBound..<close.lowerBound]) + "\n" == shipped)
    }

    /// status's next boot is the boot script's choice, for every combination of the variables
    /// (the last resort included: a committed group whose attempts were used up boots again).
    @Test func nextBootIsTheScriptsChoice() {
        for order in ["", "A", "B", "A B", "B A"] {
            for aLeft in ["0", "1", "3"] {
                for bLeft in ["0", "1", "3"] {
                    for aTrial in ["0", "1"] {
                        for bTrial in ["0", "1"] {
                            let env = UBootEnvironment(variables: [
                                "BOOT_ORDER": order, "BOOT_A_LEFT": aLeft, "BOOT_B_LEFT": bLeft,
                                "BOOT_A_TRIAL": aTrial, "BOOT_B_TRIAL": bTrial,
                            ])
                            #expect(
                                UBootBackend.state(of: env).nextBoot == UBootBootSelection.select(env).booted,
                                "\(env.variables)")
                        }
                    }
                }
            }
        }
    }

    /// No valid copy (blank, or torn inside a single saveenv): U-Boot runs its built-in default
    /// environment; a written one without bootcmd would stop it at its prompt, so provisioning
    /// refuses unless the board's defaults bring a bootcmd.
    @Test func provisioningABlankEnvironmentNeedsABootcmd() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let (cfg, config) = try setUp(dir, redundant: false)
        let backend = try UBootBackend(config: config, storage: storage, attempts: 3)
        let error = #expect(throws: BootError.self) { try backend.provision(primary: .a) }
        #expect("\(error.map { $0 } as Any)".contains("bootcmd"))
        #expect(try backend.store.snapshot().activeIndex == nil)
        try backend.provision(primary: .b, defaults: ["bootcmd": "run twinslot", "bootdelay": "0"])
        #expect(try printenv(cfg).contains("bootcmd=run twinslot"))
        #expect(try backend.read().primary == .b)
        // Over a valid environment, whatever it holds, provisioning keeps its variables.
        try backend.provision(primary: .a)
        #expect(try printenv(cfg).contains("bootcmd=run twinslot"))
    }
}
