import Foundation
import Testing

/// Partial bundles (docs/bundle-format.md, "Partial bundles"): a bundle that carries some of the
/// device's slot classes; the installer copies the others from the running group, so the trial
/// boots the running content in them, never what an older update left in the target group.
@Suite struct PartialBundleTests {
    /// A directory tree as the tests compare it: relative path → type, permission bits and
    /// content (a file's bytes, a symlink's target).
    static func tree(_ root: String) throws -> [String: String] {
        var entries: [String: String] = [:]
        let manager = FileManager.default
        for relative in try manager.subpathsOfDirectory(atPath: root) {
            let path = root + "/" + relative
            let attributes = try manager.attributesOfItem(atPath: path)
            let mode = (attributes[.posixPermissions] as? Int).map { String($0, radix: 8) } ?? "?"
            switch attributes[.type] as? FileAttributeType {
            case .typeDirectory: entries[relative] = "d \(mode)"
            case .typeSymbolicLink:
                entries[relative] = "l " + (try manager.destinationOfSymbolicLink(atPath: path))
            default:
                let bytes = manager.contents(atPath: path) ?? Data()
                entries[relative] = "f \(mode) " + bytes.base64EncodedString()
            }
        }
        return entries
    }

    /// v2 (every class) into B, committed: the running group B's slots are recorded in the journal.
    func deviceRunningV2() throws -> SimulatedDeviceFixture {
        let sim = try SimulatedDeviceFixture("partial")
        let v2 = try sim.bundle("2.0", securityVersion: 2, seed: 2)
        let installed = try sim.twinslot("install", v2)
        #expect(installed.status == 0, "\(installed.stderr)")
        #expect(try CLI.twinslot("sim", "reboot", sim.device).stdout.contains("committed"))
        return sim
    }

    func slot(_ status: [String: Any], _ sim: SimulatedDeviceFixture, _ group: String, _ name: String) -> [String: Any]
    {
        (sim.group(group, in: status)["slots"] as! [[String: Any]]).first { $0["slot_class"] as? String == name }!
    }

    @Test func aRootfsOnlyBundleCopiesFirmwareAndAppsFromTheRunningGroup() throws {
        let sim = try deviceRunningV2()
        let v3 = try sim.bundle("3.0", securityVersion: 3, seed: 3, classes: ["rootfs"])
        let info = try sim.twinslot("bundle", "info", v3, "--json")
        let object = try JSONSerialization.jsonObject(with: Data(info.stdout.utf8)) as! [String: Any]
        #expect(object["slot_classes"] as? [String] == ["rootfs"])
        #expect(try sim.twinslot("bundle", "info", v3).stdout.contains("slot classes:     rootfs\n"))

        let dry = try sim.twinslot("install", v3, "--dry-run")
        #expect(dry.status == 0, "\(dry.stderr)")
        #expect(
            dry.stdout.contains("rootfs (raw, from the bundle) -> \(sim.device)/slots/rootfs-a.img"), "\(dry.stdout)")
        #expect(
            dry.stdout.contains(
                "firmware (raw, copied from the running group's \(sim.device)/slots/firmware-b.img) -> "
                    + "\(sim.device)/slots/firmware-a.img"), "\(dry.stdout)")
        let dryJSON = try sim.twinslot("install", v3, "--dry-run", "--json")
        let plan = try JSONSerialization.jsonObject(with: Data(dryJSON.stdout.utf8)) as! [String: Any]
        let steps = plan["steps"] as! [[String: Any]]
        #expect(steps.map { $0["slot_class"] as? String } == ["rootfs", "firmware", "apps"])
        #expect(steps.map { $0["origin"] as? String } == ["bundle", "running-group", "running-group"])
        #expect(steps[2]["copied_from"] as? String == sim.device + "/apps/b")
        #expect(sim.bytes("slots/rootfs-a.img") != sim.bytes("slots/rootfs-b.img"), "a dry run writes nothing")

        let before = try sim.status()
        let installed = try sim.twinslot("install", v3)
        #expect(installed.status == 0, "\(installed.stderr)")
        #expect(installed.stdout.contains("copied from \(sim.device)/slots/firmware-b.img"), "\(installed.stdout)")
        #expect(try CLI.twinslot("sim", "reboot", sim.device).stdout.contains("committed"))
        let status = try sim.status()
        #expect(status["booted"] as? String == "A" && status["primary"] as? String == "A")
        let carried = try Data(contentsOf: URL(fileURLWithPath: sim.root + "/content-3.0/rootfs.img"))
        #expect(sim.bytes("slots/rootfs-a.img") == carried)
        #expect(sim.bytes("slots/firmware-a.img") == sim.bytes("slots/firmware-b.img"))
        #expect(try Self.tree(sim.device + "/apps/a") == Self.tree(sim.device + "/apps/b"))
        #expect(sim.bytes("apps/current/VERSION") == Data("2.0\n".utf8))
        // The record tells the truth per slot: the copies keep the source's hash and size.
        #expect(sim.group("A", in: status)["version"] as? String == "3.0")
        for name in ["firmware", "apps"] {
            let copied = slot(status, sim, "A", name)
            let source = slot(before, sim, "B", name)
            #expect(copied["sha256"] as? String == source["sha256"] as? String)
            #expect(copied["size"] as? Int == source["size"] as? Int)
            #expect(copied["copied_from"] as? String == "B")
            #expect(copied["status"] as? String == "good")
        }
        #expect(slot(status, sim, "A", "rootfs")["copied_from"] == nil)
        let text = try sim.twinslot("status").stdout
        #expect(text.contains("(copied from B)"), "\(text)")
    }

    @Test func anAppsOnlyBundleCopiesTheRawSlotsFromTheRunningGroup() throws {
        let sim = try deviceRunningV2()
        let v3 = try sim.bundle("3.0", securityVersion: 3, seed: 3, classes: ["apps"])
        let installed = try sim.twinslot("install", v3, "--json")
        #expect(installed.status == 0, "\(installed.stderr)")
        let line = try #require(installed.stdout.split(separator: "\n").last)
        let report = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
        let steps = report["steps"] as! [[String: Any]]
        #expect(steps.map { $0["origin"] as? String } == ["bundle", "running-group", "running-group"])
        #expect(try CLI.twinslot("sim", "reboot", sim.device).stdout.contains("committed"))
        #expect(sim.bytes("slots/rootfs-a.img") == sim.bytes("slots/rootfs-b.img"))
        #expect(sim.bytes("slots/firmware-a.img") == sim.bytes("slots/firmware-b.img"))
        #expect(sim.bytes("apps/current/VERSION") == Data("3.0\n".utf8))
        // A firmware-only bundle into B copies A's rootfs (itself a copy, recorded with B's old
        // hash) and A's apps tree, which now has a symlink and an executable: the copy keeps both.
        try FileManager.default.createSymbolicLink(atPath: sim.device + "/apps/a/link", withDestinationPath: "bin/run")
        try FileManager.default.setAttributes(
            [.posixPermissions: 0o750], ofItemAtPath: sim.device + "/apps/a/bin/run")
        let v4 = try sim.bundle("4.0", securityVersion: 4, seed: 4, classes: ["firmware"])
        #expect(try sim.twinslot("install", v4).status == 0)
        #expect(try CLI.twinslot("sim", "reboot", sim.device).stdout.contains("committed"))
        #expect(sim.bytes("slots/rootfs-b.img") == sim.bytes("slots/rootfs-a.img"))
        #expect(sim.bytes("slots/firmware-b.img") == Data(repeating: 4, count: 40_000))
        let apps = try Self.tree(sim.device + "/apps/b")
        #expect(apps == (try Self.tree(sim.device + "/apps/a")))
        #expect(apps["link"] == "l bin/run")
        #expect(apps["bin/run"]?.hasPrefix("f 750 ") == true, "\(apps)")
    }

    /// From the factory image (never recorded by twinslot): the whole source is copied.
    @Test func aPartialBundleOnAFactoryDeviceCopiesTheFactorySlots() throws {
        let sim = try SimulatedDeviceFixture("partial-factory")
        let v2 = try sim.bundle("2.0", securityVersion: 2, seed: 2, classes: ["rootfs"])
        #expect(try sim.twinslot("install", v2).status == 0)
        #expect(try CLI.twinslot("sim", "reboot", sim.device).stdout.contains("committed"))
        #expect(sim.bytes("slots/firmware-b.img") == sim.bytes("slots/firmware-a.img"))
        #expect(sim.bytes("apps/current/VERSION") == Data("factory\n".utf8))
        let firmware = slot(try sim.status(), sim, "B", "firmware")
        #expect(firmware["size"] as? Int == sim.bytes("slots/firmware-a.img")?.count)
    }

    /// The running slot is not what the journal recorded: refused (14), nothing flipped.
    @Test func aRunningSlotThatDiffersFromTheJournalIsNotCopied() throws {
        let sim = try deviceRunningV2()
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: sim.device + "/slots/rootfs-b.img"))
        try handle.seek(toOffset: 1000)
        try handle.write(contentsOf: Data([0xEE, 0xEE]))
        try handle.close()
        let v3 = try sim.bundle("3.0", securityVersion: 3, seed: 3, classes: ["apps"])
        let refused = try sim.twinslot("install", v3)
        #expect(refused.status == 14, "\(refused.stdout)\(refused.stderr)")
        #expect(refused.stderr.contains("the journal recorded"), "\(refused.stderr)")
        #expect(refused.stderr.contains("rootfs-b.img"), "\(refused.stderr)")
        let status = try sim.status()
        #expect(status["next_boot"] as? String == "B")
        #expect(status["primary"] as? String == "B")
        #expect(sim.group("A", in: status)["bootloader"] as? String != "trial")
        #expect((status["last"] as? [String: Any])?["outcome"] as? String == "failed")
        #expect(try CLI.twinslot("sim", "reboot", sim.device).status == 0)
        #expect(try sim.status()["booted"] as? String == "B")
    }

    /// A bundle with no image is refused: `bundle create` as a usage error (64), a hand-made
    /// signed one as a bad bundle (10) when it is installed.
    @Test func anEmptyBundleIsRefused() throws {
        let sim = try SimulatedDeviceFixture("partial-empty")
        let usage = try sim.twinslot(
            "bundle", "create", "--out", sim.root + "/empty.tsb", "--compatible", "twinslot-sim", "--version", "2",
            "--cert", sim.pki + "/signer.pem", "--key", sim.pki + "/signer.key")
        #expect(usage.status == 64)
        #expect(usage.stderr.contains("at least one --image"), "\(usage.stderr)")

        let made = try CLI.run(
            "/usr/bin/python3",
            [
                "-c",
                """
                import json, subprocess, tarfile, io, sys
                d, pki = sys.argv[1], sys.argv[2]
                m = {"compatible": "twinslot-sim", "created": "2026-01-01T00:00:00Z", "format_version": 1,
                     "images": [], "security_version": 2, "version": "2.0"}
                body = (json.dumps(m, indent=2, sort_keys=True) + "\\n").encode()
                open(d + "/m.json", "wb").write(body)
                subprocess.check_call(["openssl", "cms", "-sign", "-binary", "-outform", "DER", "-in", d + "/m.json",
                    "-signer", pki + "/signer.pem", "-inkey", pki + "/signer.key", "-certfile",
                    pki + "/signer-chain.pem", "-out", d + "/m.sig"])
                with tarfile.open(d + "/empty.tsb", "w", format=tarfile.USTAR_FORMAT) as t:
                    for name, path in (("manifest.json", d + "/m.json"), ("manifest.sig", d + "/m.sig")):
                        data = open(path, "rb").read()
                        info = tarfile.TarInfo(name); info.size = len(data); info.mode = 0o644
                        t.addfile(info, io.BytesIO(data))
                """, sim.root, sim.pki,
            ])
        #expect(made.status == 0, "\(made.stderr)")
        let refused = try sim.twinslot("install", sim.root + "/empty.tsb")
        #expect(refused.status == 10, "\(refused.stdout)\(refused.stderr)")
        #expect(refused.stderr.contains("'images' is empty: a bundle carries at least one image"), "\(refused.stderr)")
        #expect(try sim.status()["primary"] as? String == "A")
    }

    @Test func aBundleForAnUnknownClassIsStillRefused() throws {
        let sim = try SimulatedDeviceFixture("partial-unknown")
        FileManager.default.createFile(atPath: sim.root + "/kernel.img", contents: Data(repeating: 7, count: 4096))
        let out = sim.root + "/kernel.tsb"
        let created = try sim.twinslot(
            "bundle", "create", "--out", out, "--compatible", "twinslot-sim", "--version", "2.0", "--security-version",
            "2", "--cert", sim.pki + "/signer.pem", "--key", sim.pki + "/signer.key", "--chain",
            sim.pki + "/signer-chain.pem", "--image", "kernel=" + sim.root + "/kernel.img")
        #expect(created.status == 0, "\(created.stderr)")
        let refused = try sim.twinslot("install", out)
        #expect(refused.status == 12, "\(refused.stderr)")
        #expect(refused.stderr.contains("slot class 'kernel', which this device does not have"), "\(refused.stderr)")
        #expect(sim.bytes("slots/rootfs-b.img") == Data())
    }
}
