import Foundation
import Testing

@testable import TwinslotCore

/// The example from docs/configuration.md (GRUB device); line numbers matter to the tests below.
let exampleConfig = """
    # Example system.toml
    compatible = "acme-gateway-v1"
    data-directory = "/var/lib/twinslot"
    keyring = "/etc/twinslot/keyring.pem"

    [bootloader]
    backend = "grub"
    grubenv = "/boot/grub/grubenv"
    booted-slot = "cmdline"
    reboot-command = ["systemctl", "reboot"]

    [security]
    anti-rollback = true
    allow-same-version = true

    [slots.rootfs]
    type = "raw"
    a = "/dev/mmcblk0p2"
    b = "/dev/mmcblk0p3"

    [slots.apps]
    type = "directory"
    a = "/data/apps/a"
    b = "/data/apps/b"
    current = "/data/apps/current"

    [[health.check]]
    name = "app-responds"
    kind = "http"
    target = "http://127.0.0.1:8080/healthz"
    timeout = "10s"
    required = true
    retries = 2
    retry-delay = "1s"

    [[health.check]]
    name = "selftest"
    kind = "command"
    command = ["/usr/bin/selftest", "--quick"]
    timeout = "500ms"
    required = false

    [health]
    deadline-boots = 3
    deadline = "10m"
    """

let expectedExample = SystemConfig(
    compatible: "acme-gateway-v1",
    dataDirectory: "/var/lib/twinslot",
    keyring: "/etc/twinslot/keyring.pem",
    bootloader: BootloaderConfig(
        backend: .grub(grubenv: "/boot/grub/grubenv"), bootedSlot: .cmdline(path: "/proc/cmdline"),
        rebootCommand: ["systemctl", "reboot"]),
    security: SecurityPolicy(antiRollback: true, allowSameVersion: true),
    slotClasses: [
        SlotClassConfig(name: "rootfs", type: .raw, a: "/dev/mmcblk0p2", b: "/dev/mmcblk0p3"),
        SlotClassConfig(
            name: "apps", type: .directory, a: "/data/apps/a", b: "/data/apps/b", current: "/data/apps/current"),
    ],
    health: HealthConfig(
        checks: [
            HealthCheckConfig(
                name: "app-responds", kind: .http(url: "http://127.0.0.1:8080/healthz"), timeout: .seconds(10),
                required: true, retries: 2, retryDelay: .seconds(1)),
            HealthCheckConfig(
                name: "selftest", kind: .command(["/usr/bin/selftest", "--quick"]), timeout: .milliseconds(500),
                required: false, retries: 0, retryDelay: .seconds(1)),
        ],
        deadlineBoots: 3, deadline: .seconds(600)),
    sourcePath: "system.toml")

/// The example with 1-based lines replaced (a replacement may be "" to blank a line, keeping the
/// numbering of the others) and lines appended.
func example(replacing replacements: [Int: String] = [:], appending extra: [String] = []) -> String {
    var lines = exampleConfig.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    for (line, text) in replacements { lines[line - 1] = text }
    return (lines + extra).joined(separator: "\n")
}

func configError(_ text: String, sourcePath: String = "system.toml") -> ConfigError? {
    do {
        _ = try SystemConfig.parse(text: text, sourcePath: sourcePath)
        return nil
    } catch let error as ConfigError {
        return error
    } catch {
        return nil
    }
}

let ubootConfig = """
    compatible = "acme-sensor-v2"
    keyring = "/etc/twinslot/keyring.pem"

    [bootloader]
    backend = "uboot"
    uboot-env = ["/dev/mmcblk0 0x3f8000 0x4000", "/dev/mmcblk0 0x3fc000 16384"]
    attempts = 5
    booted-slot = "/run/twinslot/booted-slot"
    reboot-command = ["/sbin/reboot", "-f"]

    [security]
    anti-rollback = false

    [slots.rootfs]
    type = "raw"
    a = "/dev/mmcblk0p2"
    b = "/dev/mmcblk0p3"

    [slots.runtime]
    type = "directory"
    a = "/data/runtime/a"
    b = "/data/runtime/b"
    current = "/data/runtime/current"

    [[health.check]]
    name = "broker"
    kind = "tcp"
    target = "127.0.0.1:1883"

    [[health.check]]
    name = "agent-socket"
    kind = "socket"
    target = "/run/agent.sock"
    required = false

    [[health.check]]
    name = "marker"
    kind = "file"
    target = "/run/app-ready"

    [[health.check]]
    name = "unit"
    kind = "systemd"
    target = "app.service"
    retries = 5
    retry-delay = "0s"

    [[health.check]]
    name = "v6"
    kind = "tcp"
    target = "[::1]:8080"
    timeout = "1h"
    """

@Suite("Config: system.toml")
struct ConfigSystemTOMLTests {
    @Test func fullExampleParsesToTheModel() throws {
        let config = try SystemConfig.parse(text: exampleConfig, sourcePath: "system.toml")
        #expect(config == expectedExample)
        #expect(config.slotClasses.map(\.name) == ["rootfs", "apps"])
        #expect(config.slotClass(named: "apps")?.path(for: .b) == "/data/apps/b")
        #expect(config.slotClass(named: "rootfs")?.path(for: .a) == "/dev/mmcblk0p2")
        #expect(config.slotClass(named: "nope") == nil)
    }

    @Test func minimalConfigTakesDefaults() throws {
        let config = try SystemConfig.parse(
            text: """
                compatible = "x"
                keyring = "/k.pem"
                [bootloader]
                backend = "grub"
                [slots.rootfs]
                type = "raw"
                a = "/dev/sda2"
                b = "/dev/sda3"
                """)
        #expect(config.dataDirectory == "/var/lib/twinslot")
        #expect(config.bootloader.backend == .grub(grubenv: "/boot/grub/grubenv"))
        #expect(config.bootloader.bootedSlot == .cmdline(path: "/proc/cmdline"))
        #expect(config.bootloader.rebootCommand == ["systemctl", "reboot"])
        #expect(config.security == SecurityPolicy(antiRollback: true, allowSameVersion: true))
        #expect(config.health == HealthConfig(checks: [], deadlineBoots: 3, deadline: nil))
        #expect(config.sourcePath == nil)
    }

    @Test func theNoOlderVersionRule() throws {
        let text = exampleConfig.replacingOccurrences(
            of: "allow-same-version = true", with: "allow-same-version = true\nallow-older-version = false")
        let config = try SystemConfig.parse(text: text)
        #expect(config.security == SecurityPolicy(antiRollback: true, allowSameVersion: true, allowOlderVersion: false))
        #expect(try SystemConfig.parse(text: exampleConfig).security.allowOlderVersion)
        // It survives rendering (sim init writes the configuration this way).
        #expect(try SystemConfig.parse(text: config.renderTOML()).security.allowOlderVersion == false)
        #expect(throws: ConfigError.self) {
            try SystemConfig.parse(
                text: exampleConfig.replacingOccurrences(
                    of: "allow-same-version = true", with: "allow-same-version = true\nallow-older-version = 1"))
        }
    }

    @Test func ubootDevice() throws {
        let config = try SystemConfig.parse(text: ubootConfig)
        #expect(
            config.bootloader.backend
                == .uboot(
                    environments: [
                        UBootEnvironmentLocation(path: "/dev/mmcblk0", offset: 0x3f_8000, size: 0x4000),
                        UBootEnvironmentLocation(path: "/dev/mmcblk0", offset: 0x3f_c000, size: 0x4000),
                    ], attempts: 5))
        #expect(config.bootloader.bootedSlot == .file(path: "/run/twinslot/booted-slot"))
        #expect(config.bootloader.rebootCommand == ["/sbin/reboot", "-f"])
        #expect(config.security == SecurityPolicy(antiRollback: false, allowSameVersion: true))
        #expect(
            config.health.checks.map(\.kind) == [
                .tcp(host: "127.0.0.1", port: 1883), .socket(path: "/run/agent.sock"), .file(path: "/run/app-ready"),
                .systemd(unit: "app.service"), .tcp(host: "::1", port: 8080),
            ])
        #expect(config.health.checks[1].required == false)
        #expect(config.health.checks[3].retries == 5)
        #expect(config.health.checks[3].retryDelay == .zero)
        #expect(config.health.checks[4].timeout == .seconds(3600))
    }

    @Test func singleUBootEnvironmentAsString() throws {
        let config = try SystemConfig.parse(
            text: """
                compatible = "x"
                keyring = "/k.pem"
                [bootloader]
                backend = "uboot"
                uboot-env = "/dev/mtd1 0 0x10000"
                [slots.rootfs]
                type = "raw"
                a = "/dev/mtdblock2"
                b = "/dev/mtdblock3"
                """)
        #expect(
            config.bootloader.backend
                == .uboot(environments: [.init(path: "/dev/mtd1", offset: 0, size: 0x10000)], attempts: 3))
    }

    @Test func scriptAndSimBackends() throws {
        let base = """
            compatible = "x"
            keyring = "/k.pem"
            [slots.rootfs]
            type = "raw"
            a = "/tmp/sim/a.img"
            b = "/tmp/sim/b.img"
            [bootloader]
            """
        let script = try SystemConfig.parse(
            text: base
                + "\nbackend = \"script\"\nscript = \"/usr/lib/twinslot/bootloader\"\ncmdline-path = \"/tmp/cmdline\"")
        #expect(script.bootloader.backend == .script(command: "/usr/lib/twinslot/bootloader"))
        #expect(script.bootloader.bootedSlot == .cmdline(path: "/tmp/cmdline"))
        let sim = try SystemConfig.parse(text: base + "\nbackend = \"sim\"\ngrubenv = \"/tmp/sim/grubenv\"")
        #expect(sim.bootloader.backend == .sim(grubenv: "/tmp/sim/grubenv"))
        #expect(
            configError(base + "\nbackend = \"sim\"")?.description
                == "system.toml: line 7: missing required key 'bootloader.grubenv'")
        #expect(
            configError(base + "\nbackend = \"script\"")?.description
                == "system.toml: line 7: missing required key 'bootloader.script'")
    }

    @Test(
        arguments: [
            // (replaced lines, exact description)
            (
                [17: #"type = "ext4""#],
                #"system.toml: line 17: slot 'rootfs' key 'type': expected "raw", "directory" or "oci", got "ext4""#
            ),
            ([2: ""], "system.toml: missing required key 'compatible'"),
            ([4: ""], "system.toml: missing required key 'keyring'"),
            (
                [3: #"data-directroy = "/x""#],
                "system.toml: line 3: unknown key 'data-directroy' (did you mean 'data-directory'?)"
            ),
            (
                [5: "colour = 1"],
                "system.toml: line 5: unknown key 'colour'; known keys: compatible, data-directory, keyring, bootloader, security, slots, health, reporting, network"
            ),
            ([12: "[securty]"], "system.toml: line 12: unknown key 'securty' (did you mean 'security'?)"),
            ([4: "keyring = 42"], "system.toml: line 4: key 'keyring': expected a string, got an integer (42)"),
            ([2: "compatible = \"\""], "system.toml: line 2: key 'compatible': must not be empty"),
            (
                [4: #"keyring = "keyring.pem""#],
                #"system.toml: line 4: key 'keyring': expected an absolute path, got "keyring.pem""#
            ),
            (
                [20: "[slots.rootfs]"],
                "system.toml: line 20: duplicate table [slots.rootfs] (first defined on line 16) (column 1)"
            ),
            (
                [19: #"b = "/dev/mmcblk0p2""#],
                #"system.toml: line 19: slot 'rootfs' key 'b': path "/dev/mmcblk0p2" is already used by slot 'rootfs' key 'a' (line 18); every slot path must be distinct"#
            ),
            (
                [23: #"a = "/dev/mmcblk0p3/""#],
                #"system.toml: line 23: slot 'apps' key 'a': path "/dev/mmcblk0p3/" is already used by slot 'rootfs' key 'b' (line 19); every slot path must be distinct"#
            ),
            ([25: ""], "system.toml: line 21: slot 'apps': missing required key 'current'"),
            ([18: ""], "system.toml: line 16: slot 'rootfs': missing required key 'a'"),
            (
                [20: #"current = "/x""#],
                #"system.toml: line 20: slot 'rootfs' key 'current': applies only to slots of type "directory" or "oci""#
            ),
            ([20: "typo = 1"], "system.toml: line 20: slot 'rootfs': unknown key 'typo' (did you mean 'type'?)"),
            ([18: "a = 5"], "system.toml: line 18: slot 'rootfs' key 'a': expected a string, got an integer (5)"),
            (
                [21: "[slots.Apps]"],
                #"system.toml: line 21: invalid slot class name "Apps": use a lowercase letter then lowercase letters, digits, '_' or '-'"#
            ),
            (
                [7: #"backend = "lilo""#],
                #"system.toml: line 7: key 'bootloader.backend': expected "grub", "uboot", "script" or "sim", got "lilo""#
            ),
            ([7: ""], "system.toml: line 6: missing required key 'bootloader.backend'"),
            (
                [8: #"grubenvv = "/x""#],
                "system.toml: line 8: unknown key 'bootloader.grubenvv' (did you mean 'bootloader.grubenv'?)"
            ),
            (
                [11: "attempts = 3"],
                #"system.toml: line 11: key 'bootloader.attempts': applies only to backend "uboot", not "grub""#
            ),
            (
                [9: #"booted-slot = "kernel""#],
                #"system.toml: line 9: key 'bootloader.booted-slot': expected "cmdline" or an absolute file path, got "kernel""#
            ),
            ([10: "reboot-command = []"], "system.toml: line 10: key 'bootloader.reboot-command': must not be empty"),
            (
                [10: #"reboot-command = ["reboot", 1]"#],
                "system.toml: line 10: key 'bootloader.reboot-command': item 2: expected a string, got an integer (1)"
            ),
            (
                [13: #"anti-rollback = "yes""#],
                #"system.toml: line 13: key 'security.anti-rollback': expected true or false, got a string ("yes")"#
            ),
            (
                [31: #"timeout = "10 s""#],
                #"system.toml: line 31: health check 'app-responds' key 'timeout': expected a duration such as "500ms", "10s", "2m" or "1h", got "10 s""#
            ),
            (
                [31: #"timeout = "0s""#],
                "system.toml: line 31: health check 'app-responds' key 'timeout': must be longer than zero"
            ),
            (
                [37: #"name = "app-responds""#],
                "system.toml: line 37: health check 'app-responds' key 'name': duplicate name (first used on line 28); check names must be unique"
            ),
            (
                [35: #"timeot = "1s""#],
                "system.toml: line 35: health check 'app-responds': unknown key 'timeot' (did you mean 'timeout'?)"
            ),
            (
                [29: #"kind = "ping""#],
                #"system.toml: line 29: health check 'app-responds' key 'kind': expected one of "command", "file", "socket", "tcp", "http", "systemd", got "ping""#
            ),
            (
                [30: #"target = "127.0.0.1:8080""#],
                #"system.toml: line 30: health check 'app-responds' key 'target': expected an http:// or https:// URL, got "127.0.0.1:8080""#
            ),
            ([30: ""], "system.toml: line 27: health check 'app-responds': missing required key 'target'"),
            (
                [35: #"command = ["x"]"#],
                #"system.toml: line 35: health check 'app-responds' key 'command': applies only to checks of kind "command""#
            ),
            ([39: ""], "system.toml: line 36: health check 'selftest': missing required key 'command'"),
            (
                [33: "retries = -1"],
                "system.toml: line 33: health check 'app-responds' key 'retries': expected an integer from 0 to 1000, got -1"
            ),
            ([28: ""], "system.toml: line 27: health check #1: missing required key 'name'"),
            (
                [44: "deadline-boots = 0"],
                "system.toml: line 44: key 'health.deadline-boots': expected an integer from 1 to 1000, got 0"
            ),
            (
                [45: "deadline = 600"],
                "system.toml: line 45: key 'health.deadline': expected a string, got an integer (600)"
            ),
            (
                [45: #"deadline = "10min""#],
                #"system.toml: line 45: key 'health.deadline': expected a duration such as "500ms", "10s", "2m" or "1h", got "10min""#
            ),
            (
                [45: "check = 1"],
                "system.toml: line 45: duplicate key 'health.check' (first defined on line 27) (column 1)"
            ),
        ] as [([Int: String], String)])
    func validationErrorsNameKeyAndLine(replacements: [Int: String], description: String) throws {
        let error = try #require(configError(example(replacing: replacements)), "no error for \(replacements)")
        #expect(error.description == description)
        #expect(error.failureClass == .config)
        #expect(error.sourcePath == "system.toml")
    }

    @Test func missingSlotsAndBootloader() throws {
        let noSlots = example(replacing: Dictionary(uniqueKeysWithValues: (16...25).map { ($0, "") }))
        #expect(
            configError(noSlots)?.description
                == "system.toml: no slot classes: at least one [slots.NAME] table is required")
        let emptySlots = example(
            replacing: Dictionary(uniqueKeysWithValues: (16...25).map { ($0, "") }), appending: ["[slots]"])
        #expect(
            configError(emptySlots)?.description
                == "system.toml: line 46: no slot classes: at least one [slots.NAME] table is required")
        let noBootloader = example(replacing: Dictionary(uniqueKeysWithValues: (6...10).map { ($0, "") }))
        #expect(configError(noBootloader)?.description == "system.toml: missing required table [bootloader]")
        #expect(
            configError(example(replacing: [16: "[slots]", 17: "rootfs = 1", 18: "", 19: ""]))?.description
                == "system.toml: line 17: slot 'rootfs': expected a table ([slots.rootfs]), got an integer")
    }

    @Test(arguments: [
        (
            #"uboot-env = []"#,
            "key 'bootloader.uboot-env': expected one line (single environment) or two (redundant environment), got 0"
        ),
        (
            #"uboot-env = ["/a 0 1", "/a 1 1", "/a 2 1"]"#,
            "key 'bootloader.uboot-env': expected one line (single environment) or two (redundant environment), got 3"
        ),
        (
            #"uboot-env = ["/dev/mmcblk0 0x3f8000"]"#,
            #"key 'bootloader.uboot-env' line 1: expected "path offset size", got "/dev/mmcblk0 0x3f8000""#
        ),
        (
            #"uboot-env = ["mmcblk0 0 0x4000"]"#,
            #"key 'bootloader.uboot-env' line 1: expected an absolute device or file path, got "mmcblk0""#
        ),
        (
            #"uboot-env = ["/dev/mmcblk0 0xZZ 0x4000"]"#,
            #"key 'bootloader.uboot-env' line 1: invalid offset "0xZZ" (decimal or 0x hex)"#
        ),
        (
            #"uboot-env = ["/a 0 0x4000", "/a 0x4000 0"]"#,
            #"key 'bootloader.uboot-env' line 2: invalid size "0" (decimal or 0x hex, above zero)"#
        ),
        (
            #"uboot-env = ["/a 0 0x4000", "/a 0x4000 0x2000"]"#,
            "key 'bootloader.uboot-env': the two copies of a redundant environment must have the same size"
        ),
        (
            #"uboot-env = ["/a 0 0x4000", "/a 0x2000 0x4000"]"#,
            "key 'bootloader.uboot-env': the two copies of the environment overlap"
        ),
        (#"uboot-env = 7"#, "key 'bootloader.uboot-env': expected an array of one or two strings, got an integer (7)"),
        (
            #"uboot-env = ["/a 0 0x4000"]"# + "\nattempts = 0",
            "key 'bootloader.attempts': expected an integer from 1 to 9, got 0"
        ),
        (
            // The boot script's setexpr counts in hexadecimal: 10 would be decremented to "f".
            #"uboot-env = ["/a 0 0x4000"]"# + "\nattempts = 10",
            "key 'bootloader.attempts': expected an integer from 1 to 9, got 10"
        ),
        (
            #"uboot-env = ["/a 0 0x4000"]"# + "\ngrubenv = \"/x\"",
            #"key 'bootloader.grubenv': applies only to backends "grub" and "sim", not "uboot""#
        ),
    ])
    func ubootEnvironmentErrors(setting: String, message: String) throws {
        let text = """
            compatible = "x"
            keyring = "/k.pem"
            [slots.rootfs]
            type = "raw"
            a = "/dev/sda2"
            b = "/dev/sda3"
            [bootloader]
            backend = "uboot"
            \(setting)
            """
        let error = try #require(configError(text))
        let line = setting.hasPrefix("uboot-env = [\"/a 0 0x4000\"]\n") ? 10 : 9
        #expect(error.description == "system.toml: line \(line): \(message)")
    }

    @Test func ubootWithoutEnvironment() {
        let text = """
            compatible = "x"
            keyring = "/k.pem"
            [bootloader]
            backend = "uboot"
            [slots.rootfs]
            type = "raw"
            a = "/dev/sda2"
            b = "/dev/sda3"
            """
        #expect(configError(text)?.description == "system.toml: line 3: missing required key 'bootloader.uboot-env'")
    }

    @Test(arguments: [
        ("127.0.0.1", "expected \"host:port\""),
        ("host:0", "expected \"host:port\""),
        ("host:70000", "expected \"host:port\""),
        ("::1:80", "expected \"host:port\""),
        (":80", "expected \"host:port\""),
    ])
    func badTCPTargets(target: String, fragment: String) throws {
        let text = example(replacing: [29: #"kind = "tcp""#, 30: "target = \(TOMLValue.quoted(target))"])
        let error = try #require(configError(text))
        #expect(error.line == 30)
        #expect(error.description.contains("health check 'app-responds' key 'target': \(fragment)"))
    }

    @Test func syntaxErrorsComeWithThePath() throws {
        let error = try #require(configError(example(replacing: [7: #"backend = "grub"#])))
        #expect(error.description == "system.toml: line 7: unterminated string (column 11)")
        #expect(error.failureClass == .config)
    }

    @Test func loadReadsTheFileAndNamesItInErrors() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("twinslot-config-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("system.toml").path
        try exampleConfig.write(toFile: path, atomically: true, encoding: .utf8)
        var loaded = try SystemConfig.load(path: path)
        #expect(loaded.sourcePath == path)
        loaded.sourcePath = "system.toml"
        #expect(loaded == expectedExample)

        try example(replacing: [17: #"type = "ext4""#]).write(toFile: path, atomically: true, encoding: .utf8)
        let error = try #require(throws: ConfigError.self) { try SystemConfig.load(path: path) }
        #expect(error.description.hasPrefix("\(path): line 17: slot 'rootfs' key 'type'"))

        let directoryError = try #require(throws: ConfigError.self) { try SystemConfig.load(path: directory.path) }
        #expect(directoryError.description == "\(directory.path): is a directory, not a configuration file")
    }

    @Test func missingFileSaysHowToPointElsewhere() throws {
        let error = try #require(throws: ConfigError.self) {
            try SystemConfig.load(path: "/nonexistent/twinslot/system.toml")
        }
        #expect(error.failureClass == .config)
        #expect(error.line == nil)
        #expect(
            error.description
                == "/nonexistent/twinslot/system.toml: configuration file not found; pass --config PATH or set TWINSLOT_CONFIG to use another file (default /etc/twinslot/system.toml)"
        )
    }

    @Test func resolvePath() {
        #expect(SystemConfig.resolvePath(explicit: "/a.toml", environment: ["TWINSLOT_CONFIG": "/b.toml"]) == "/a.toml")
        #expect(SystemConfig.resolvePath(explicit: nil, environment: ["TWINSLOT_CONFIG": "/b.toml"]) == "/b.toml")
        #expect(
            SystemConfig.resolvePath(explicit: nil, environment: ["TWINSLOT_CONFIG": ""]) == "/etc/twinslot/system.toml"
        )
        #expect(SystemConfig.resolvePath(explicit: nil, environment: [:]) == "/etc/twinslot/system.toml")
    }

    @Test(arguments: [exampleConfig, ubootConfig])
    func renderThenParseGivesTheSameConfig(text: String) throws {
        let config = try SystemConfig.parse(text: text, sourcePath: "system.toml")
        let rendered = config.renderTOML()
        let reparsed = try SystemConfig.parse(text: rendered, sourcePath: "system.toml")
        #expect(reparsed == config)
        // Rendering is stable.
        #expect(reparsed.renderTOML() == rendered)
    }

    @Test func renderOfAConfigBuiltInCode() throws {
        let config = SystemConfig(
            compatible: "sim \"device\"\n",
            dataDirectory: "/tmp/sim dir/data",
            keyring: "/tmp/sim dir/keyring.pem",
            bootloader: BootloaderConfig(
                backend: .sim(grubenv: "/tmp/sim dir/grubenv"), bootedSlot: .file(path: "/tmp/sim dir/booted"),
                rebootCommand: ["true"]),
            security: SecurityPolicy(antiRollback: false, allowSameVersion: false),
            slotClasses: [
                SlotClassConfig(name: "rootfs", type: .raw, a: "/tmp/sim dir/a.img", b: "/tmp/sim dir/b.img"),
                SlotClassConfig(
                    name: "apps_2", type: .directory, a: "/tmp/sim dir/apps/a", b: "/tmp/sim dir/apps/b",
                    current: "/tmp/sim dir/apps/current"),
            ],
            health: HealthConfig(
                checks: [
                    HealthCheckConfig(
                        name: "ok", kind: .command(["/bin/sh", "-c", "exit 0"]), timeout: .milliseconds(1500),
                        required: false, retries: 1, retryDelay: .milliseconds(250))
                ],
                deadlineBoots: 2, deadline: .seconds(7200)))
        try config.validate()
        let reparsed = try SystemConfig.parse(text: config.renderTOML())
        #expect(reparsed == config)
        #expect(config.renderTOML().contains(#"timeout = "1500ms""#))
        #expect(config.renderTOML().contains(#"deadline = "2h""#))

        var bad = config
        bad.slotClasses[1].b = bad.slotClasses[0].a
        #expect(throws: ConfigError.self) { try bad.validate() }
    }

    @Test func durations() {
        #expect(Duration(configText: "500ms") == .milliseconds(500))
        #expect(Duration(configText: "10s") == .seconds(10))
        #expect(Duration(configText: "2m") == .seconds(120))
        #expect(Duration(configText: "1h") == .seconds(3600))
        #expect(Duration(configText: "0s") == .zero)
        for bad in ["", "10", "s", "1.5s", "-1s", "10 s", "10S", "1d", "9999999999999s"] {
            #expect(Duration(configText: bad) == nil, "\(bad)")
        }
        #expect(Duration.milliseconds(500).configText == "500ms")
        #expect(Duration.seconds(90).configText == "90s")
        #expect(Duration.seconds(120).configText == "2m")
        #expect(Duration.seconds(7200).configText == "2h")
        #expect(Duration.zero.configText == "0s")
    }

    @Test func configErrorDescriptions() {
        #expect(ConfigError(message: "m").description == "m")
        #expect(ConfigError(sourcePath: "f", message: "m").description == "f: m")
        #expect(ConfigError(sourcePath: "f", line: 3, message: "m").description == "f: line 3: m")
        #expect(ConfigError(line: 3, column: 4, message: "m").description == "line 3: m (column 4)")
        #expect(ConfigError(message: "m").failureClass.exitCode == 17)
    }
}
