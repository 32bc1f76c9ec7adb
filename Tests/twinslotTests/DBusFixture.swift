import Foundation
import TestSupport

/// A private system-like bus for one test: a real `dbus-daemon` with the system bus's default
/// policy plus dist/dbus/io.twinslot.Installer1.conf (so the shipped policy is what the tests
/// run under), the real `twinslot service` on it, and `busctl`/`gdbus` as the clients.
final class DBusFixture {
    static let name = "io.twinslot.Installer1"
    static let path = "/io/twinslot/Installer1"

    let sim: SimulatedDeviceFixture
    let directory: String
    let address: String
    private let daemon: Process
    private var service: Process?
    private var monitors: [Process] = []

    init(_ label: String) throws {
        sim = try SimulatedDeviceFixture("dbus-" + label)
        directory = sim.root + "/bus"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let config = directory + "/bus.conf"
        try Self.configuration(socket: directory + "/socket").write(toFile: config, atomically: true, encoding: .utf8)
        daemon = Process()
        daemon.executableURL = URL(fileURLWithPath: "/usr/bin/dbus-daemon")
        daemon.arguments = ["--config-file=" + config, "--nofork", "--print-address"]
        let out = Pipe()
        daemon.standardOutput = out
        daemon.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try daemon.run()
        // The first line is the address; the daemon accepts connections from then on.
        var line = Data()
        while let byte = try out.fileHandleForReading.read(upToCount: 1), !byte.isEmpty, byte != Data([10]) {
            line += byte
        }
        address = String(decoding: line, as: UTF8.self)
        guard address.hasPrefix("unix:") else { throw CLIError("dbus-daemon printed no address") }
    }

    /// SIGKILL: the children inherit the test runner's blocked signal mask, so SIGTERM would
    /// wait forever for busctl and dbus-daemon (the service unblocks its own, see stopService).
    deinit {
        for process in monitors + [service].compactMap({ $0 }) + [daemon] where process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    /// The system bus's default policy (deny method calls, allow signals and replies), the
    /// shipped twinslot policy included, root allowed to monitor.
    static func configuration(socket: String) -> String {
        """
        <!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
         "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
        <busconfig>
          <type>system</type>
          <auth>EXTERNAL</auth>
          <listen>unix:path=\(socket)</listen>
          <policy context="default">
            <allow user="*"/>
            <deny own="*"/>
            <deny send_type="method_call"/>
            <allow send_type="signal"/>
            <allow send_requested_reply="true" send_type="method_return"/>
            <allow send_requested_reply="true" send_type="error"/>
            <allow receive_type="*"/>
            <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"/>
            <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Introspectable"/>
          </policy>
          <policy user="root">
            <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Monitoring"/>
          </policy>
          <include>\(CLI.repositoryRoot)/dist/dbus/io.twinslot.Installer1.conf</include>
        </busconfig>
        """
    }

    /// Starts `twinslot service` and waits until it owns its name.
    func startService(_ extra: [String] = []) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: CLI.binary)
        process.arguments = ["service", "--config", sim.config, "--bus-address", address] + extra
        process.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
        FileManager.default.createFile(atPath: directory + "/service.err", contents: nil)
        process.standardError = FileHandle(forWritingAtPath: directory + "/service.err")
        try process.run()
        service = process
        try waitFor("the service owns \(Self.name)") {
            guard process.isRunning else { throw CLIError("twinslot service exited: \(serviceErrors)") }
            let owner = try busctl(
                "call", "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus", "NameHasOwner", "s",
                Self.name)
            return owner.stdout.contains("true")
        }
    }

    var serviceErrors: String { (try? String(contentsOfFile: directory + "/service.err", encoding: .utf8)) ?? "" }

    var servicePID: Int32 { service?.processIdentifier ?? 0 }

    func stopService() -> Int32 {
        guard let service else { return -1 }
        service.terminate()
        service.waitUntilExit()
        return service.terminationStatus
    }

    @discardableResult
    func busctl(_ arguments: String..., user: String? = nil) throws -> CLI.Result {
        try run("/usr/bin/busctl", ["--address=" + address, "--json=short"] + arguments, user: user)
    }

    /// A method call with gdbus, whose failure names the D-Bus error (busctl prints only the
    /// message): `GDBus.Error:io.twinslot.Error.Busy: …`.
    func gdbus(_ method: String, _ arguments: String..., path: String = DBusFixture.path, user: String? = nil) throws
        -> CLI.Result
    {
        try run(
            "/usr/bin/gdbus",
            [
                "call", "--address", address, "--dest", Self.name, "--object-path", path, "--method", method,
                "--timeout",
                "120",
            ] + arguments, user: user)
    }

    private func run(_ executable: String, _ arguments: [String], user: String? = nil) throws -> CLI.Result {
        guard let user else { return try CLI.run(executable, arguments) }
        return try CLI.run(
            "/usr/bin/setpriv", ["--reuid=\(user)", "--regid=\(user)", "--clear-groups", executable] + arguments)
    }

    /// A property's value, from busctl's JSON.
    func property(_ name: String, interface: String = DBusFixture.name, path: String = DBusFixture.path) throws -> Any?
    {
        let result = try busctl("get-property", Self.name, path, interface, name)
        guard result.status == 0 else { throw CLIError("get-property \(name): \(result.stderr)") }
        return (try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])?["data"]
    }

    /// A method call's reply values, from busctl's JSON.
    func call(
        _ member: String, _ arguments: String..., interface: String = DBusFixture.name, path: String = DBusFixture.path
    )
        throws -> [Any]
    {
        let result = try run(
            "/usr/bin/busctl",
            ["--address=" + address, "--json=short", "call", Self.name, path, interface, member] + arguments)
        guard result.status == 0 else { throw CLIError("\(member): \(result.stderr)") }
        if result.stdout.isEmpty { return [] }
        let object = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
        return object?["data"] as? [Any] ?? []
    }

    /// `busctl monitor` of everything to and from the service, as JSON lines in a file; ready
    /// once it has seen a call the test made (so no signal after that can be missed).
    func monitor() throws -> BusMonitor {
        let monitor = try BusMonitor(address: address, file: directory + "/monitor-\(monitors.count).json")
        monitors.append(monitor.process)
        try waitFor("busctl monitor sees the service") {
            _ = try busctl("get-property", Self.name, Self.path, Self.name, "Operation")
            return monitor.messages().contains { $0["member"] as? String == "Get" }
        }
        return monitor
    }

    /// A pre-install hook that holds the install (and the lock) until `release()`: the window
    /// in which a second client, the CLI or a disconnect meets a running install.
    func holdInstalls() throws {
        let hook = sim.device + "/hooks.d/10-hold"
        let script = """
            #!/bin/sh
            [ "$1" = pre-install ] || exit 0
            touch \(directory)/held
            i=0
            while [ ! -e \(directory)/release ] && [ $i -lt 500 ]; do sleep 0.1; i=$((i+1)); done
            rm -f \(directory)/held
            """
        try script.write(toFile: hook, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: hook)
    }

    func waitUntilHeld() throws {
        try waitFor("the install reached the pre-install hook") {
            FileManager.default.fileExists(atPath: directory + "/held")
        }
    }

    func release() { _ = FileManager.default.createFile(atPath: directory + "/release", contents: nil) }
}

/// Polls `condition` until it holds; generous, for a loaded 2-core machine.
func waitFor(_ what: String, timeout: Double = 120, _ condition: () throws -> Bool) throws {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if try condition() { return }
        usleep(50_000)
    }
    throw CLIError("timed out after \(Int(timeout)) s waiting until \(what)")
}

final class BusMonitor {
    let process = Process()
    let file: String

    init(address: String, file: String) throws {
        self.file = file
        FileManager.default.createFile(atPath: file, contents: nil)
        process.executableURL = URL(fileURLWithPath: "/usr/bin/busctl")
        process.arguments = ["--address=" + address, "monitor", "--json=short", DBusFixture.name]
        process.standardOutput = FileHandle(forWritingAtPath: file)
        process.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try process.run()
    }

    /// Every message seen so far (a line cut by a write in progress is skipped).
    func messages() -> [[String: Any]] {
        let text = (try? String(contentsOfFile: file, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
    }

    func signals(_ member: String, interface: String = DBusFixture.name) -> [[Any]] {
        messages().filter {
            $0["type"] as? String == "signal" && $0["member"] as? String == member
                && $0["interface"] as? String == interface
        }.compactMap { ($0["payload"] as? [String: Any])?["data"] as? [Any] }
    }

    /// Waits for the signal `member` whose arguments satisfy `match`, and returns them.
    func wait(for member: String, interface: String = DBusFixture.name, _ match: ([Any]) -> Bool = { _ in true })
        throws -> [Any]
    {
        var found: [Any]?
        try waitFor("the signal \(interface).\(member)") {
            found = signals(member, interface: interface).first(where: match)
            return found != nil
        }
        return found!
    }
}
