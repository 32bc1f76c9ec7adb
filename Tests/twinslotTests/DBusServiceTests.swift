import Foundation
import TestSupport
import Testing

/// `twinslot service` on a private dbus-daemon, driven with busctl and gdbus as a device
/// maker's scripts would: installs with their signals, refusals with their error names, two
/// clients, a client that goes away, the CLI beside the service, and RAUC's interface.
@Suite(.serialized) struct DBusServiceTests {
    let bus: DBusFixture

    init() throws {
        bus = try DBusFixture("svc")
        try bus.startService()
    }

    func install(_ bundle: String) throws -> String {
        let reply = try bus.call("Install", "sa{sv}", bundle, "0")
        return try #require(reply.first as? String)
    }

    @Test func installCompletesWithRateLimitedProgressAndStatusAfter() throws {
        let monitor = try bus.monitor()
        let bundle = try bus.sim.bundle("2.0.0", securityVersion: 2, seed: 2)
        let id = try install(bundle)
        let completed = try monitor.wait(for: "Completed") { $0.last as? String == id }
        #expect(completed[0] as? Int == 0, "\(completed)")
        #expect((completed[1] as? String)?.contains("installed 2.0.0 into group B") == true, "\(completed)")

        let progress = monitor.signals("Progress")
        let phases = progress.compactMap { $0[1] as? String }
        for phase in ["verifying", "writing", "flipping", "done"] { #expect(phases.contains(phase), "\(phases)") }
        let percents = progress.compactMap { $0[0] as? Int }
        #expect(percents == percents.sorted(), "percentages only grow: \(percents)")
        #expect(percents.last == 100)
        // Rate-limited: a few per phase, never one per block (the rootfs alone is ~3 MiB).
        #expect(progress.count <= 4 + 100, "\(progress.count) Progress signals")
        let total = try #require(progress.last?[3] as? UInt64 ?? (progress.last?[3] as? Int).map(UInt64.init))
        #expect(total > 3 << 20)
        #expect(monitor.signals("PropertiesChanged", interface: "org.freedesktop.DBus.Properties").count >= 2)

        #expect(try bus.property("Operation") as? String == "idle")
        #expect(try bus.property("LastError") as? String == "")
        let last = try #require(try bus.property("LastResult") as? [Any])
        #expect(last[0] as? Int == 0 && last[2] as? String == id)

        // GetSlotStatus is `status --json`: the same document, as a{sv}.
        let status = try #require(try bus.call("GetSlotStatus").first as? [String: Any])
        let cli = try bus.sim.status()
        for key in ["compatible", "booted", "primary", "next_boot"] {
            #expect(value(status[key]) as? String == cli[key] as? String, "\(key)")
        }
        #expect(value(status["next_boot"]) as? String == "B")
        #expect(try bus.property("Version") as? String == "", "group A runs factory content")
    }

    @Test func aURLIsStreamedByTheSameHTTPSourceAsTheCLI() throws {
        let monitor = try bus.monitor()
        let www = bus.sim.root + "/www"
        try FileManager.default.createDirectory(atPath: www, withIntermediateDirectories: true)
        try FileManager.default.copyItem(
            atPath: try bus.sim.bundle("2.0.0", securityVersion: 2, seed: 2), toPath: www + "/v2.tsb")
        let nginx = try NginxServer(serving: www)
        defer { nginx.stop() }
        let info = try #require(try bus.call("Inspect", "s", nginx.url + "/v2.tsb").first as? [String: Any])
        #expect(value((value(info["manifest"]) as? [String: Any])?["version"]) as? String == "2.0.0")
        let planned = try #require(
            try bus.call("Install", "sa{sv}", nginx.url + "/v2.tsb", "1", "dry-run", "b", "true").first as? String)
        let dryRun = try monitor.wait(for: "Completed") { $0.last as? String == planned }
        #expect(dryRun[0] as? Int == 0 && (dryRun[1] as? String)?.hasPrefix("dry run: bundle 2.0.0") == true)
        #expect(try bus.sim.status()["next_boot"] as? String == "A", "a dry run writes nothing")
        let id = try install(nginx.url + "/v2.tsb")
        let completed = try monitor.wait(for: "Completed") { $0.last as? String == id }
        #expect(completed[0] as? Int == 0, "\(completed)")
        let missing = try install(nginx.url + "/missing.tsb")
        let refused = try monitor.wait(for: "Completed") { $0.last as? String == missing }
        #expect(refused[0] as? Int == 19, "an HTTP 404 is the network class: \(refused)")
    }

    @Test func anUntrustedBundleIsRefusedWithItsClassAndNothingIsWritten() throws {
        let monitor = try bus.monitor()
        let bundle = try bus.sim.bundle("2.0.0", securityVersion: 2, seed: 2)
        let pki = bus.sim.pki
        let expired = bus.sim.root + "/expired.tsb"
        // `bundle sign --cert` refuses an expired signer: sign with openssl, as a careless CI would.
        let manifest = bus.sim.root + "/expired.json"
        let signature = bus.sim.root + "/expired.sig"
        let extract = try CLI.run("/bin/sh", ["-c", "tar -xOf '\(bundle)' manifest.json > '\(manifest)'"])
        try #require(extract.status == 0, "\(extract.stderr)")
        let cms = try CLI.run(
            "/usr/bin/openssl",
            [
                "cms", "-sign", "-binary", "-outform", "DER", "-in", manifest, "-signer", pki + "/expired-signer.pem",
                "-inkey", pki + "/expired-signer.key", "-certfile", pki + "/signer-chain.pem", "-out", signature,
            ])
        try #require(cms.status == 0, "\(cms.stderr)")
        let signed = try bus.sim.twinslot("bundle", "sign", bundle, "--out", expired, "--signature", signature)
        try #require(signed.status == 0, "\(signed.stderr)")
        let before = bus.sim.snapshot()
        let cli = try bus.sim.twinslot("install", expired)
        #expect(cli.status == 11)
        #expect(bus.sim.snapshot() == before)

        let id = try install(expired)
        let completed = try monitor.wait(for: "Completed") { $0.last as? String == id }
        #expect(completed[0] as? Int == 11, "untrusted is exit code 11: \(completed)")
        let message = try #require(completed[1] as? String)
        #expect(cli.stderr.contains(message), "the CLI's message: \(message) / \(cli.stderr)")
        #expect(message.contains("expired"), "\(message)")
        #expect(try bus.property("LastError") as? String == message)
        #expect(bus.sim.snapshot() == before, "nothing written: slots, bootloader, journal")
        #expect(FileManager.default.contents(atPath: bus.sim.device + "/slots/rootfs-b.img")?.isEmpty == true)
    }

    @Test func aCorruptPayloadIsABadBundleAndItsGroupStaysUnbootable() throws {
        let monitor = try bus.monitor()
        let bundle = try bus.sim.bundle("2.0.0", securityVersion: 2, seed: 2)
        var bytes = [UInt8](FileManager.default.contents(atPath: bundle)!)
        bytes[bytes.count - 5000] ^= 0xff
        let bad = bus.sim.root + "/bad.tsb"
        _ = FileManager.default.createFile(atPath: bad, contents: Data(bytes))
        let id = try install(bad)
        let completed = try monitor.wait(for: "Completed") { $0.last as? String == id }
        #expect(completed[0] as? Int == 10, "bad-bundle is exit code 10: \(completed)")
        #expect((completed[1] as? String)?.contains("rootfs.img.zst") == true, "\(completed)")
        let status = try bus.sim.status()
        #expect(status["next_boot"] as? String == "A", "the half-written group B is never booted")

        // A file that is no bundle at all: Inspect answers with the error's class name.
        let garbage = bus.sim.root + "/garbage.tsb"
        _ = FileManager.default.createFile(atPath: garbage, contents: Data(repeating: 7, count: 4096))
        let inspect = try bus.gdbus("io.twinslot.Installer1.Inspect", garbage)
        #expect(inspect.status != 0)
        #expect(inspect.stderr.contains("io.twinslot.Error.BadBundle"), "\(inspect.stderr)")
        let relative = try bus.gdbus("io.twinslot.Installer1.Install", "update.tsb", "{}")
        #expect(relative.stderr.contains("io.twinslot.Error.Usage"), "\(relative.stderr)")
        let option = try bus.gdbus("io.twinslot.Installer1.Install", bad, "{'force': <true>}")
        #expect(option.stderr.contains("unknown install option 'force'"), "\(option.stderr)")
    }

    @Test func aSecondClientIsBusyAndTheFirstInstallCompletes() throws {
        try bus.holdInstalls()
        let monitor = try bus.monitor()
        let bundle = try bus.sim.bundle("2.0.0", securityVersion: 2, seed: 2)
        let id = try install(bundle)
        try bus.waitUntilHeld()
        #expect(try bus.property("Operation") as? String == "installing")
        #expect(try bus.property("CurrentOperationID") as? String == id)

        let second = try bus.gdbus("io.twinslot.Installer1.Install", bundle, "{}")
        #expect(second.status != 0)
        #expect(second.stderr.contains("io.twinslot.Error.Busy"), "\(second.stderr)")
        #expect(second.stderr.contains(id), "names the running operation: \(second.stderr)")
        // The bus stays responsive while the install is held: reads answer at once.
        #expect(try bus.call("GetSlotStatus").count == 1)

        bus.release()
        let completed = try monitor.wait(for: "Completed") { $0.last as? String == id }
        #expect(completed[0] as? Int == 0, "\(completed)")
        #expect(monitor.signals("Completed").count == 1, "only the first install ran")
    }

    @Test func theCLIAndTheServiceShareTheInstallLock() throws {
        try bus.holdInstalls()
        let bundle = try bus.sim.bundle("2.0.0", securityVersion: 2, seed: 2)
        let cli = Process()
        cli.executableURL = URL(fileURLWithPath: CLI.binary)
        cli.arguments = ["install", "--config", bus.sim.config, bundle, "--quiet"]
        cli.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
        try cli.run()
        try bus.waitUntilHeld()

        let refused = try bus.gdbus("io.twinslot.Installer1.Install", bundle, "{}")
        #expect(refused.stderr.contains("io.twinslot.Error.Busy"), "\(refused.stderr)")
        #expect(refused.stderr.contains("held by pid \(cli.processIdentifier)"), "\(refused.stderr)")
        #expect(try bus.property("Operation") as? String == "idle", "the service did not start an install")
        bus.release()
        cli.waitUntilExit()
        #expect(cli.terminationStatus == 0)

        // And the other way round: the CLI meets a bus install and exits 15.
        try? FileManager.default.removeItem(atPath: bus.directory + "/release")
        let next = try bus.sim.bundle("3.0.0", securityVersion: 3, seed: 3)
        _ = try bus.sim.twinslot("sim", "reboot", bus.sim.device)
        let monitor = try bus.monitor()
        let id = try install(next)
        try bus.waitUntilHeld()
        let busy = try bus.sim.twinslot("install", next)
        #expect(busy.status == 15, "\(busy.stderr)")
        bus.release()
        #expect(try monitor.wait(for: "Completed") { $0.last as? String == id }[0] as? Int == 0)
    }

    @Test func aClientThatDisconnectsMidInstallDoesNotStopIt() throws {
        try bus.holdInstalls()
        let bundle = try bus.sim.bundle("2.0.0", securityVersion: 2, seed: 2)
        // gdbus connects, calls Install, gets the id and exits: its connection is gone while
        // the install waits in the pre-install hook.
        let caller = try bus.gdbus("io.twinslot.Installer1.Install", bundle, "{}")
        #expect(caller.status == 0, "\(caller.stderr)")
        let id = try #require(caller.stdout.split(separator: "'").dropFirst().first.map(String.init))
        try bus.waitUntilHeld()
        #expect(try bus.property("Operation") as? String == "installing")
        bus.release()

        // A later client, which saw none of it, finds the service idle and the result kept.
        try waitFor("the install finished") { try bus.property("Operation") as? String == "idle" }
        let last = try #require(try bus.property("LastResult") as? [Any])
        #expect(last[0] as? Int == 0, "\(last)")
        #expect(last[2] as? String == id)
        #expect(try bus.property("LastError") as? String == "")
        #expect(try bus.sim.status()["next_boot"] as? String == "B")
    }

    @Test func inspectAndMarkAnswerAsTheCLIDoes() throws {
        let bundle = try bus.sim.bundle("2.0.0", securityVersion: 2, seed: 2)
        let info = try #require(try bus.call("Inspect", "s", bundle).first as? [String: Any])
        #expect(value(info["signature"]) as? String == "verified")
        #expect(value(info["signer"]) as? String == "CN=twinslot Test Signer")
        let manifest = try #require(value(info["manifest"]) as? [String: Any])
        #expect(value(manifest["version"]) as? String == "2.0.0")
        #expect(value(manifest["compatible"]) as? String == "twinslot-sim")
        #expect((value(manifest["images"]) as? [Any])?.count == 3)

        let refusedByCLI = try bus.sim.twinslot("mark-bad", "booted")
        #expect(refusedByCLI.status == 18)
        let refused = try bus.gdbus("io.twinslot.Installer1.Mark", "bad", "booted")
        #expect(refused.stderr.contains("io.twinslot.Error.State"), "\(refused.stderr)")
        let cliMessage = refusedByCLI.stderr.replacingOccurrences(of: "twinslot: error: ", with: "")
            .trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(refused.stderr.contains(cliMessage), "the CLI's message: \(refused.stderr)")
        let usage = try bus.gdbus("io.twinslot.Installer1.Mark", "sideways", "booted")
        #expect(usage.stderr.contains("io.twinslot.Error.Usage"), "\(usage.stderr)")

        // `active` is `mark-good`: the other group holds nothing yet, so both refuse alike.
        let activeByCLI = try bus.sim.twinslot("mark-good", "other")
        let active = try bus.gdbus("io.twinslot.Installer1.Mark", "active", "rootfs.1")
        #expect(activeByCLI.status == 18 && active.stderr.contains("io.twinslot.Error.State"), "\(active.stderr)")
        #expect(active.stderr.contains("group B holds no committed bundle"), "\(active.stderr)")

        let good = try bus.call("Mark", "ss", "good", "booted")
        #expect(good.first as? String == "group A is committed and primary")
        #expect(try bus.property("Primary") as? String == "A")
    }

    @Test func raucsInterfaceInstallsAndSignalsCompleted() throws {
        let monitor = try bus.monitor()
        let bundle = try bus.sim.bundle("2.0.0", securityVersion: 2, seed: 2)
        let rauc = "de.pengutronix.rauc.Installer"
        let info = try bus.call("Info", "s", bundle, interface: rauc, path: "/")
        #expect(info.count == 2 && info[0] as? String == "twinslot-sim" && info[1] as? String == "2.0.0")
        #expect(try bus.property("Compatible", interface: rauc, path: "/") as? String == "twinslot-sim")
        #expect(try bus.property("BootSlot", interface: rauc, path: "/") as? String == "A")

        #expect(try bus.call("InstallBundle", "sa{sv}", bundle, "0", interface: rauc, path: "/").isEmpty)
        let completed = try monitor.wait(for: "Completed", interface: rauc)
        #expect(completed.first as? Int == 0, "\(completed)")
        #expect(try bus.property("Operation", interface: rauc, path: "/") as? String == "idle")
        let progress = try #require(try bus.property("Progress", interface: rauc, path: "/") as? [Any])
        #expect(progress.first as? Int == 100)

        let slots = try #require(try bus.call("GetSlotStatus", interface: rauc, path: "/").first as? [[Any]])
        let rootfsB = try #require(slots.first { $0.first as? String == "rootfs.1" }?.last as? [String: Any])
        #expect(value(rootfsB["bundle.version"]) as? String == "2.0.0")
        #expect(value(rootfsB["bootname"]) as? String == "B")
        #expect(try bus.call("GetPrimary", interface: rauc, path: "/").first as? String == "rootfs.0")
        let inspected = try #require(
            try bus.call("InspectBundle", "sa{sv}", bundle, "0", interface: rauc, path: "/").first as? [String: Any])
        #expect(value((value(inspected["update"]) as? [String: Any])?["version"]) as? String == "2.0.0")

        // --rauc-name: the same object answers on RAUC's own bus name.
        #expect(bus.stopService() == 0)
        try bus.startService(["--rauc-name"])
        let primary = try bus.busctl("call", "de.pengutronix.rauc", "/", rauc, "GetPrimary")
        #expect(primary.stdout.contains("rootfs.0"), "\(primary.stdout) \(primary.stderr)")
    }

    @Test func aSecondServiceOrAMissingBusStopsAtOnceWithItsClass() throws {
        let second = try bus.sim.twinslot("service", "--bus-address", bus.address)
        #expect(second.status == 15, "busy: \(second.stderr)")
        #expect(second.stderr.contains("owns the bus name io.twinslot.Installer1"), "\(second.stderr)")
        let missing = try bus.sim.twinslot("service", "--bus-address", "unix:path=\(bus.directory)/no-such-socket")
        #expect(missing.status == 14, "io: \(missing.stderr)")
        #expect(missing.stderr.contains("no-such-socket"), "\(missing.stderr)")
        #expect(try bus.property("Operation") as? String == "idle", "the first service still answers")
    }

    @Test func thePolicyLetsOtherUsersReadButNotInstallOrMark() throws {
        let bundle = try bus.sim.bundle("2.0.0", securityVersion: 2, seed: 2)
        let nobody = "65534"
        let status = try bus.busctl(
            "call", DBusFixture.name, DBusFixture.path, DBusFixture.name, "GetSlotStatus", user: nobody)
        #expect(status.status == 0, "\(status.stderr)")
        let read = try bus.busctl(
            "get-property", DBusFixture.name, DBusFixture.path, DBusFixture.name, "Operation", user: nobody)
        #expect(read.status == 0, "\(read.stderr)")
        for (member, signature, arguments) in [
            ("Install", "sa{sv}", [bundle, "0"]), ("Mark", "ss", ["good", "booted"]),
        ] {
            let denied = try bus.busctl(
                "call", DBusFixture.name, DBusFixture.path, DBusFixture.name, member, signature, arguments[0],
                arguments[1], user: nobody)
            #expect(denied.status != 0)
            #expect(
                denied.stderr.lowercased().contains("access") || denied.stderr.contains("denied"), "\(denied.stderr)")
        }
        #expect(try bus.property("Operation") as? String == "idle")
        #expect(bus.stopService() == 0, "SIGTERM stops the service cleanly: \(bus.serviceErrors)")
    }

    /// The service is root and everyone may call Inspect: it must open what an ordinary user
    /// names as that user, or any user could have root read files for them (and learn whether
    /// a root-only file is a bundle, and its manifest), fetch URLs, or hang it on a FIFO.
    @Test func inspectOpensACallersBundleWithTheCallersPermissions() throws {
        let bundle = try bus.sim.bundle("2.0.0", securityVersion: 2, seed: 2)
        let shared = "/tmp/twinslot-inspect-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: shared, withIntermediateDirectories: false)
        defer { try? FileManager.default.removeItem(atPath: shared) }
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: shared)
        let copy = shared + "/update.tsb"
        try FileManager.default.copyItem(atPath: bundle, toPath: copy)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: copy)
        let nobody = "65534"
        func inspect(_ source: String) throws -> CLI.Result {
            try bus.busctl(
                "call", DBusFixture.name, DBusFixture.path, DBusFixture.name, "Inspect", "s", source, user: nobody)
        }
        let readable = try inspect(copy)
        #expect(readable.status == 0, "a bundle the caller may read is inspected: \(readable.stderr)")
        #expect(readable.stdout.contains("2.0.0"), "\(readable.stdout)")

        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: copy)
        // gdbus names the error and prints the service's reason (busctl only "Access denied").
        let secret = try bus.gdbus(DBusFixture.name + ".Inspect", copy, user: nobody)
        #expect(secret.status != 0)
        #expect(
            secret.stderr.contains("org.freedesktop.DBus.Error.AccessDenied")
                && secret.stderr.contains("user 65534 may not read it"), "root's file stays root's: \(secret.stderr)")
        #expect(!secret.stderr.contains("2.0.0"), "\(secret.stderr)")

        let url = try bus.gdbus(DBusFixture.name + ".Inspect", "http://127.0.0.1:9/update.tsb", user: nobody)
        #expect(url.status != 0)
        #expect(url.stderr.contains("only root may have the service fetch a URL"), "\(url.stderr)")

        let fifo = shared + "/fifo"
        #expect(mkfifo(fifo, 0o666) == 0)
        let pipe = try inspect(fifo)
        #expect(pipe.status != 0)
        #expect(pipe.stderr.contains("not a regular file"), "a FIFO never holds a worker: \(pipe.stderr)")

        // Root names any file, as with the CLI.
        let asRoot = try bus.busctl("call", DBusFixture.name, DBusFixture.path, DBusFixture.name, "Inspect", "s", copy)
        #expect(asRoot.status == 0, "\(asRoot.stderr)")
    }
}

/// busctl's JSON wraps every variant as {"type", "data"}; this unwraps one.
func value(_ wrapped: Any?) -> Any? {
    guard let object = wrapped as? [String: Any], object["type"] is String, let data = object["data"] else {
        return wrapped
    }
    if let dictionary = data as? [String: Any] { return dictionary }
    return data
}
