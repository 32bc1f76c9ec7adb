import Foundation
import SystemPackage
import Testing

@testable import TwinslotCore

@Suite struct BootScriptBackendTests {
    @Test func scriptProtocol() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let state = dir.path("state")
        try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true)
        try dir.write("state/primary", "system0\n")
        try dir.write("state/system0", "good\n")
        try dir.write("state/system1", "bad\n")
        try dir.write("state/current", "system0\n")
        let script = """
            #!/bin/sh
            S="\(state)"
            echo "$*" >> "$S/log"
            case "$1" in
              get-primary) cat "$S/primary" ;;
              set-primary) echo "$2" > "$S/primary" ;;
              get-state) cat "$S/$2" ;;
              set-state)
                case "$3" in good|bad) echo "$3" > "$S/$2" ;; *) echo "bad state $3" >&2; exit 2 ;; esac ;;
              get-current) cat "$S/current" ;;
              *) echo "unknown verb $1" >&2; exit 1 ;;
            esac
            """
        try dir.write("boot.sh", script)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: dir.path("boot.sh"))

        let backend = try ScriptBackend(command: [dir.path("boot.sh")], slotNames: [.a: "system0", .b: "system1"])
        #expect(backend.name == "script")
        var boot = try backend.read()
        #expect(boot.order == [.a, .b])
        #expect(boot.slots == [.a: .good, .b: .bad])
        #expect(boot.nextBoot == .a && boot.primary == .a)
        #expect(try backend.current() == .a)

        try backend.disable(.b)
        try backend.setTrial(.b)
        boot = try backend.read()
        #expect(boot.order == [.b, .a])
        #expect(boot.nextBoot == .a)  // the script reports B bad until it is committed
        try backend.commit(.b)
        boot = try backend.read()
        #expect(boot.slots == [.a: .good, .b: .good])
        #expect(boot.primary == .b)
        let log = String(decoding: try dir.read("state/log"), as: UTF8.self)
        #expect(log.contains("set-state system1 bad\nset-primary system1\n"))
        #expect(log.contains("set-state system1 good\nset-primary system1\n"))

        // A failing command: the error names the verb and carries stderr.
        try dir.write("state/system1", "weird\n")
        let stateError = #expect(throws: BootError.self) { _ = try backend.read() }
        #expect(stateError?.description.contains("weird") == true)
        let failing = try ScriptBackend(command: ["/bin/sh", "-c", "echo broken bootloader >&2; exit 3", "sh"])
        let error = #expect(throws: BootError.self) { try failing.setTrial(.a) }
        #expect(error?.description.contains("set-primary A") == true)
        #expect(error?.description.contains("broken bootloader") == true)
        #expect(error?.failureClass == .io)
    }
}
