import Foundation
import Testing
import TwinslotCore

/// Builds SWUpdate .swu files the way SWUpdate users do: sw-description signed with
/// `openssl cms`, images compressed with `zstd`, everything packed with `cpio -o -H crc|newc`.
struct SwuBuilder {
    let directory: String
    let pki: String

    init(_ root: String, pki: String) throws {
        directory = root + "/swu-\(UUID().uuidString.prefix(8))"
        self.pki = pki
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    func path(_ name: String) -> String { directory + "/" + name }

    func write(_ name: String, _ bytes: [UInt8]) {
        _ = FileManager.default.createFile(atPath: path(name), contents: Data(bytes))
    }

    func read(_ name: String) -> [UInt8] { Array(FileManager.default.contents(atPath: path(name)) ?? Data()) }

    func sha256(_ name: String) -> String { SHA256Hasher.hex(of: read(name)) }

    /// Compresses `name` to `name.zst` with the zstd CLI.
    func zstd(_ name: String) throws -> String {
        let result = try CLI.run("/usr/bin/env", ["zstd", "-q", "-f", "-19", path(name), "-o", path(name + ".zst")])
        guard result.status == 0 else { throw CLIError("zstd: \(result.stderr)") }
        return name + ".zst"
    }

    /// A tar of `tree` (a directory holding the image's files) for an "archive" image.
    func tar(_ name: String, of tree: String) throws {
        let result = try CLI.run("/usr/bin/env", ["tar", "--format=posix", "-cf", path(name), "-C", tree, "."])
        guard result.status == 0 else { throw CLIError("tar: \(result.stderr)") }
    }

    /// Writes sw-description and its detached CMS signature (DER).
    func describe(_ text: String, signer: String = "signer") throws {
        write("sw-description", Array(text.utf8))
        let result = try CLI.run(
            "/usr/bin/env",
            [
                "openssl", "cms", "-sign", "-binary", "-outform", "DER", "-nosmimecap", "-in", path("sw-description"),
                "-signer", pki + "/\(signer).pem", "-inkey", pki + "/\(signer).key", "-certfile",
                pki + "/signer-chain.pem", "-out", path("sw-description.sig"),
            ])
        guard result.status == 0 else { throw CLIError("openssl cms -sign: \(result.stderr)") }
    }

    /// Packs members in this order with `cpio -o -H format`.
    func pack(_ out: String, members: [String], format: String = "crc") throws -> String {
        let list = members.joined(separator: "\n") + "\n"
        write(".list", Array(list.utf8))
        let result = try CLI.run(
            "/bin/sh", ["-c", "cd \"$1\" && cpio --quiet -o -H \"$2\" < .list > \"$3\"", "sh", directory, format, out])
        guard result.status == 0 else { throw CLIError("cpio: \(result.stderr)") }
        return out
    }
}

/// The content of one release for the simulated device, and the .swu carrying it.
struct SwuRelease {
    let rootfs: [UInt8]
    let firmware: [UInt8]
    let version: String
    let builder: SwuBuilder
    var rootfsSha = ""
    var firmwareSha = ""
    var appsSha = ""

    init(_ sim: SimulatedDeviceFixture, version: String, seed: UInt8, selftestStatus: Int32? = nil) throws {
        self.version = version
        builder = try SwuBuilder(sim.root, pki: sim.pki)
        var rootfs = [UInt8](repeating: 0, count: 2 << 20 + 333)
        for i in rootfs.indices { rootfs[i] = UInt8(truncatingIfNeeded: (i &* 7) ^ Int(seed) &+ i / 1024) }
        self.rootfs = rootfs
        firmware = [UInt8](repeating: seed, count: 30_000)
        builder.write("rootfs.img", rootfs)
        builder.write("firmware.bin", firmware)
        let tree = builder.path("apps-tree")
        try FileManager.default.createDirectory(atPath: tree + "/bin", withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: tree + "/VERSION", contents: Data("\(version)\n".utf8))
        _ = FileManager.default.createFile(
            atPath: tree + "/bin/run", contents: Data("#!/bin/sh\necho \(version)\n".utf8))
        if let selftestStatus {
            _ = FileManager.default.createFile(
                atPath: tree + "/bin/selftest",
                contents: Data("#!/bin/sh\necho selftest \(version)\nexit \(selftestStatus)\n".utf8),
                attributes: [.posixPermissions: 0o755])
        }
        try builder.tar("apps.tar", of: tree)
        rootfsSha = builder.sha256(try builder.zstd("rootfs.img"))
        appsSha = builder.sha256(try builder.zstd("apps.tar"))
        firmwareSha = builder.sha256("firmware.bin")
    }

    /// The image list of one copy: rootfs and apps zstd-compressed, firmware stored as is.
    func images(rootfs: String, firmware: String, apps: String, firmwareExtra: String = "") -> String {
        """
        images: (
                    {
                        filename = "rootfs.img.zst";
                        type = "raw";
                        device = "\(rootfs)";
                        compressed = "zstd";
                        installed-directly = true;
                        sha256 = "\(rootfsSha)";
                    },
                    {
                        filename = "firmware.bin";
                        type = "raw";
                        device = "\(firmware)";
                        sha256 = "\(firmwareSha)";\(firmwareExtra)
                    },
                    {
                        filename = "apps.tar.zst";
                        type = "archive";
                        path = "\(apps)";
                        compressed = "zstd";
                        sha256 = "\(appsSha)";
                    }
                );
        """
    }

    /// A dual-copy description: copy1 names group A's slot paths, copy2 group B's.
    func description(
        _ sim: SimulatedDeviceFixture, hardware: String = "twinslot-sim", securityVersion: Int,
        copy2Rootfs: String? = nil, firmwareExtra: String = ""
    ) -> String {
        let d = sim.device
        return """
            /* twinslot test release \(version) */
            software =
            {
                version = "\(version)";
                description = "release \(version)";
                hardware-compatibility: [ "\(hardware)" ];
                twinslot-security-version = \(securityVersion);

                stable = {
                    copy1: {
                        \(images(rootfs: d + "/slots/rootfs-a.img", firmware: d + "/slots/firmware-a.img", apps: d + "/apps/a", firmwareExtra: firmwareExtra))
                    };
                    copy2: {
                        \(images(rootfs: copy2Rootfs ?? d + "/slots/rootfs-b.img", firmware: d + "/slots/firmware-b.img", apps: d + "/apps/b", firmwareExtra: firmwareExtra))
                    };
                };
            }
            """
    }

    static let members = ["sw-description", "sw-description.sig", "rootfs.img.zst", "firmware.bin", "apps.tar.zst"]

    func swu(_ name: String, format: String = "crc", members: [String] = SwuRelease.members) throws -> String {
        try builder.pack(builder.directory + "/../\(name)", members: members, format: format)
    }
}

@Suite(.serialized) struct SwuDeviceTests {
    /// Installs through copy2 into group B, commits, then through copy1 into group A.
    @Test func installsBothGroupsFromOneSwu() throws {
        let sim = try SimulatedDeviceFixture("swu-cycle")
        let v3 = try SwuRelease(sim, version: "3.0", seed: 3)
        try v3.builder.describe(v3.description(sim, securityVersion: 3))
        let swu3 = try v3.swu("v3.swu", format: "newc")

        let info = try sim.twinslot("bundle", "info", swu3)
        #expect(info.status == 0, "\(info.stderr)")
        #expect(info.stdout.contains("SWUpdate .swu"))
        #expect(info.stdout.contains("rootfs.img.zst"))
        let verify = try sim.twinslot("bundle", "verify", swu3, "--keyring", sim.pki + "/keyring.pem", "--json")
        #expect(verify.status == 0, "\(verify.stderr)")
        #expect(verify.stdout.contains("\"verified\" : true") || verify.stdout.contains("\"verified\":true"))

        // bundle extract: every image of every set, decoded, and sw-description.
        let extracted = try sim.twinslot(
            "bundle", "extract", swu3, "--keyring", sim.pki + "/keyring.pem", "--dir", sim.root + "/extracted")
        #expect(extracted.status == 0, "\(extracted.stderr)")
        #expect(FileManager.default.contents(atPath: sim.root + "/extracted/rootfs.img") == Data(v3.rootfs))
        #expect(FileManager.default.contents(atPath: sim.root + "/extracted/firmware.bin") == Data(v3.firmware))
        #expect(FileManager.default.fileExists(atPath: sim.root + "/extracted/apps.tar"))
        #expect(
            FileManager.default.contents(atPath: sim.root + "/extracted/sw-description")
                == Data(v3.builder.read("sw-description")))

        let dry = try sim.twinslot("install", swu3, "--dry-run")
        #expect(dry.status == 0, "\(dry.stderr)")
        #expect(dry.stdout.contains("rootfs-b.img"))
        let installed = try sim.twinslot("install", swu3)
        #expect(installed.status == 0, "\(installed.stderr)")
        #expect(sim.bytes("slots/rootfs-b.img") == Data(v3.rootfs))
        #expect(sim.bytes("slots/firmware-b.img") == Data(v3.firmware))
        #expect(sim.bytes("apps/b/VERSION") == Data("3.0\n".utf8))
        #expect(try CLI.twinslot("sim", "reboot", sim.device).stdout.contains("committed"))
        var status = try sim.status()
        #expect(status["booted"] as? String == "B")
        #expect(status["installed_security_version"] as? Int == 3)
        #expect(sim.group("B", in: status)["version"] as? String == "3.0")
        #expect(sim.bytes("apps/current/VERSION") == Data("3.0\n".utf8))

        // The same .swu again: already installed in the running, committed group.
        #expect(try sim.twinslot("install", swu3).stdout.contains("already installed"))

        // The next release, packed as cpio "crc", goes into group A through copy1.
        let v4 = try SwuRelease(sim, version: "4.0", seed: 4)
        try v4.builder.describe(v4.description(sim, securityVersion: 4))
        let swu4 = try v4.swu("v4.swu", format: "crc")
        let second = try sim.twinslot("install", swu4)
        #expect(second.status == 0, "\(second.stderr)")
        #expect(sim.bytes("slots/rootfs-a.img") == Data(v4.rootfs))
        #expect(sim.bytes("slots/rootfs-b.img") == Data(v3.rootfs))
        #expect(sim.bytes("apps/a/VERSION") == Data("4.0\n".utf8))
        #expect(try CLI.twinslot("sim", "reboot", sim.device).stdout.contains("committed"))
        status = try sim.status()
        #expect(status["booted"] as? String == "A")
        #expect(sim.group("A", in: status)["version"] as? String == "4.0")

        // A .swu with a lower twinslot-security-version is a downgrade.
        let old = try sim.twinslot("install", swu3)
        #expect(old.status == 13, "\(old.stderr)")
    }

    /// One .swu for any group: `twinslot:CLASS` targets inside board-specific settings.
    @Test func installsTwinslotClassTargetsAndBoardSettings() throws {
        let sim = try SimulatedDeviceFixture("swu-classes")
        let release = try SwuRelease(sim, version: "5.0", seed: 5)
        try release.builder.describe(
            """
            software = {
                version = "5.0";
                twinslot-sim = {
                    hardware-compatibility = [ "#RE:^twinslot-s.m$" ];
                    \(release.images(rootfs: "twinslot:rootfs", firmware: "twinslot:firmware", apps: "twinslot:apps"))
                };
                images: ( { filename = "other-board.img"; device = "/dev/sda2"; sha256 = "\(release.rootfsSha)"; } );
            }
            """)
        let swu = try release.swu("classes.swu")
        let installed = try sim.twinslot("install", swu, "--json")
        #expect(installed.status == 0, "\(installed.stderr)")
        #expect(sim.bytes("slots/rootfs-b.img") == Data(release.rootfs))
        #expect(sim.bytes("apps/b/VERSION") == Data("5.0\n".utf8))
        #expect(try sim.status()["installed_security_version"] as? Int == 0)
    }

    @Test func refusesTamperedUnsignedAndIncompatibleSwu() throws {
        let sim = try SimulatedDeviceFixture("swu-refuse")
        let before = sim.snapshot(journal: false)
        let release = try SwuRelease(sim, version: "3.0", seed: 3)
        let good = release.description(sim, securityVersion: 3)
        let b = release.builder
        var cases: [(String, Int32, String)] = []

        func attempt(_ label: String, expect code: Int32, _ message: String, build: () throws -> String) throws {
            let swu = try build()
            let result = try sim.twinslot("install", swu)
            #expect(result.status == code, "\(label): \(result.stderr)")
            #expect(result.stderr.contains(message), "\(label): \(result.stderr)")
            // A payload failure is journalled (BEGIN, FAILED); the active group never changes.
            #expect(sim.snapshot(journal: false) == before, "\(label) changed the device")
            cases.append((label, result.status, message))
        }

        try attempt("tampered sw-description", expect: 11, "signature") {
            try b.describe(good)
            b.write("sw-description", Array(good.replacingOccurrences(of: "\"3.0\"", with: "\"3.1\"").utf8))
            return try release.swu("tampered-description.swu")
        }
        let tamperedVerify = try sim.twinslot(
            "bundle", "verify", release.builder.directory + "/../tampered-description.swu", "--keyring",
            sim.pki + "/keyring.pem")
        #expect(tamperedVerify.status == 11, "\(tamperedVerify.stderr)")
        try attempt("tampered signature", expect: 11, "signature") {
            try b.describe(good)
            var signature = b.read("sw-description.sig")
            signature[signature.count - 10] ^= 0x55
            b.write("sw-description.sig", signature)
            return try release.swu("tampered-signature.swu")
        }
        try attempt("untrusted signer", expect: 11, "keyring") {
            try b.describe(good, signer: "other-signer")
            return try release.swu("other-signer.swu")
        }
        try attempt("unsigned", expect: 11, "not signed") {
            try b.describe(good)
            return try release.swu(
                "unsigned.swu", members: SwuRelease.members.filter { $0 != "sw-description.sig" })
        }
        try attempt("tampered image", expect: 10, "rootfs.img.zst") {
            try b.describe(good)
            var stored = b.read("rootfs.img.zst")
            stored[stored.count / 2] ^= 0x01
            b.write("rootfs.img.zst", stored)
            defer { _ = try? b.zstd("rootfs.img") }
            return try release.swu("tampered-image.swu")
        }
        try attempt("wrong hardware", expect: 12, "twinslot-other") {
            try b.describe(release.description(sim, hardware: "twinslot-other", securityVersion: 3))
            return try release.swu("wrong-hardware.swu")
        }
        try attempt("copy2 names group A's slot", expect: 12, "other group") {
            try b.describe(
                release.description(sim, securityVersion: 3, copy2Rootfs: sim.device + "/slots/rootfs-a.img"))
            return try release.swu("wrong-copy.swu")
        }
        try attempt("archive image for a raw slot", expect: 12, "is a raw slot but the bundle's image is tar") {
            try b.describe(good.replacingOccurrences(of: "type = \"raw\"", with: "type = \"archive\""))
            return try release.swu("type.swu")
        }
        try attempt("xz compression", expect: 10, "compression 'xz'") {
            try b.describe(release.description(sim, securityVersion: 3, firmwareExtra: "\ncompressed = \"xz\";"))
            return try release.swu("xz.swu")
        }
        try attempt("member not in sw-description", expect: 10, "not listed") {
            try b.describe(good)
            b.write("extra.bin", [1, 2, 3])
            return try release.swu("extra.swu", members: SwuRelease.members + ["extra.bin"])
        }
        try attempt("sw-description not first", expect: 10, "sw-description") {
            try b.describe(good)
            return try release.swu("order.swu", members: ["sw-description.sig", "sw-description"])
        }
        #expect(cases.count == 11)
        // bundle verify tells the same.
        try b.describe(good)
        var stored = b.read("firmware.bin")
        stored[0] ^= 0xff
        b.write("firmware.bin", stored)
        let verify = try sim.twinslot(
            "bundle", "verify", try release.swu("verify-bad.swu"), "--keyring", sim.pki + "/keyring.pem")
        #expect(verify.status == 10, "\(verify.stderr)")
    }

    /// A zstd bomb in a .swu (whose sw-description declares no uncompressed size) stops at the cap.
    @Test func capsImagesOfUndeclaredSize() throws {
        let sim = try SimulatedDeviceFixture("swu-bomb")
        let b = try SwuBuilder(sim.root, pki: sim.pki)
        b.write("zeros.img", [UInt8](repeating: 0, count: 8 << 20))
        let sha = b.sha256(try b.zstd("zeros.img"))
        try b.describe(
            """
            software = { version = "1"; hardware-compatibility = ["twinslot-sim"];
              images: ( { filename = "zeros.img.zst"; device = "twinslot:rootfs"; compressed = "zstd"; sha256 = "\(sha)"; } ); };
            """)
        let swu = try b.pack(
            sim.root + "/bomb.swu", members: ["sw-description", "sw-description.sig", "zeros.img.zst"])
        let reader = try SwuReader(source: try FileByteSource(path: swu), target: nil)
        _ = try reader.readManifest(keyring: try Keyring(contentsOf: sim.pki + "/keyring.pem"))
        let image = try #require(try reader.nextImage())
        #expect(image.sizeKnown == false)
        #expect(throws: BundleError.exceedsLimit(member: "zeros.img.zst", limit: 1 << 20)) {
            try reader.streamImage(image, into: nil, limit: 1 << 20)
        }
        // Without a smaller cap it decodes, and the digest tells its size.
        let again = try SwuReader(source: try FileByteSource(path: swu), target: nil)
        _ = try again.readManifest(keyring: nil)
        let digest = try again.streamImage(try #require(try again.nextImage()), into: nil, limit: nil)
        #expect(digest.size == 8 << 20)
        #expect(try again.nextImage() == nil)
    }
}

/// A read-once, non-seekable source: a pipe fed by `cat`, read in awkward chunk sizes (1, 3, 7
/// bytes, …) the way a slow HTTP body arrives. Named like a hawkBit artifact URL: no extension.
final class PipeByteSource: ByteSource {
    let name: String
    private let process = Process()
    private let pipe = Pipe()
    private var reads = 0
    static let chunkSizes = [1, 3, 7, 4093, 65_536, 2, 1 << 20]

    init(file: String, name: String) throws {
        self.name = name
        process.executableURL = URL(fileURLWithPath: "/bin/cat")
        process.arguments = [file]
        process.standardOutput = pipe
        try process.run()
    }

    deinit {
        try? pipe.fileHandleForReading.close()
        process.waitUntilExit()
    }

    /// True when the descriptor cannot seek (a pipe answers ESPIPE).
    var isSeekable: Bool { lseek(pipe.fileHandleForReading.fileDescriptor, 0, SEEK_CUR) >= 0 }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let want = min(buffer.count, Self.chunkSizes[reads % Self.chunkSizes.count])
        reads += 1
        while true {
            let n = Foundation.read(pipe.fileHandleForReading.fileDescriptor, buffer.baseAddress, want)
            if n >= 0 { return n }
            if errno != EINTR { throw CLIError("read from the pipe: errno \(errno)") }
        }
    }
}

/// The path the hawkBit agent takes: `Installer.install(from: ByteSource)` on a stream, the
/// format told by its first bytes.
@Suite(.serialized) struct SwuStreamTests {
    final class Events: @unchecked Sendable {
        private let lock = NSLock()
        private var list: [Installer.Progress] = []
        func add(_ event: Installer.Progress) { lock.withLock { list.append(event) } }
        var all: [Installer.Progress] { lock.withLock { list } }
    }

    static func installer(_ sim: SimulatedDeviceFixture) throws -> Installer {
        let device = try Device(config: try SystemConfig.load(path: sim.config))
        return Installer(device: device, keyring: try Keyring(contentsOf: sim.pki + "/keyring.pem"))
    }

    @Test func sniffsTheFormatFromTheFirstBytes() {
        #expect(BundleFormat.sniff(Array("070701".utf8)) == .swupdate)
        #expect(BundleFormat.sniff(Array("070702000".utf8)) == .swupdate)
        // odc and binary cpio are not SWUpdate formats; a tar (or anything else) is native.
        #expect(BundleFormat.sniff(Array("070707".utf8)) == .twinslot)
        #expect(BundleFormat.sniff([0xc7, 0x71, 0, 0, 0, 0]) == .twinslot)
        #expect(BundleFormat.sniff(Array("manifest.json".utf8)) == .twinslot)
        #expect(BundleFormat.sniff(Array("0707".utf8)) == .twinslot)
        #expect(BundleFormat.sniff([]) == .twinslot)
    }

    /// A native bundle and then a .swu, both from pipes with no file name to go by.
    @Test func installsEitherFormatFromANonSeekableStream() throws {
        let sim = try SimulatedDeviceFixture("swu-stream")
        let native = try sim.bundle("2.0", securityVersion: 2, seed: 2)
        let nativeSource = try PipeByteSource(file: native, name: "https://hawkbit.example/artifacts/41")
        #expect(!nativeSource.isSeekable)
        let first = try Self.installer(sim).install(from: nativeSource)
        #expect(first.kind == .staged)
        #expect(first.target == .b)
        #expect(try CLI.twinslot("sim", "reboot", sim.device).stdout.contains("committed"))

        let release = try SwuRelease(sim, version: "3.0", seed: 3)
        try release.builder.describe(release.description(sim, securityVersion: 3))
        let swu = try release.swu("stream.swu")
        let events = Events()
        let source = try PipeByteSource(file: swu, name: "https://hawkbit.example/artifacts/42")
        #expect(!source.isSeekable)
        let second = try Self.installer(sim).install(from: source, progress: { events.add($0) })
        #expect(second.kind == .staged)
        #expect(second.target == .a)
        #expect(second.version == "3.0")
        // Sizes learnt while streaming are what the outcome, journal and slots hold.
        let rootfs = try #require(second.steps.first { $0.slotClass == "rootfs" })
        #expect(rootfs.size == UInt64(release.rootfs.count))
        #expect(rootfs.sha256 == SHA256Hasher.hex(of: release.rootfs))
        #expect(sim.bytes("slots/rootfs-a.img") == Data(release.rootfs))
        #expect(sim.bytes("slots/firmware-a.img") == Data(release.firmware))
        #expect(sim.bytes("apps/a/VERSION") == Data("3.0\n".utf8))
        // Progress: the compressed rootfs has no declared size (total 0) until its last event,
        // which carries the real size; the stored firmware's size is known from the start.
        let rootfsEvents = events.all.filter { $0.slotClass == "rootfs" }
        let last = try #require(rootfsEvents.last)
        #expect(last.bytes == UInt64(release.rootfs.count) && last.total == last.bytes)
        #expect(rootfsEvents.dropLast().allSatisfy { $0.total == 0 })
        #expect(events.all.filter { $0.slotClass == "firmware" }.allSatisfy { $0.total == 30_000 })
        #expect(try CLI.twinslot("sim", "reboot", sim.device).stdout.contains("committed"))
        let status = try sim.status()
        #expect(status["booted"] as? String == "A")
        #expect(sim.group("A", in: status)["version"] as? String == "3.0")
        // The operation report names the .swu's version and its bytes.
        let report = try sim.twinslot("status", "--json")
        #expect(report.stdout.contains("3.0"))
    }

    /// A slot write that fails (an I/O error, a full disk) while a .swu image streams ends the
    /// stream with the sink's error, and promptly: the pipeline is finished exactly once. The
    /// firmware image fits one pipeline buffer, so its only write fails after the producer is
    /// done: the case where finishing twice waited forever.
    @Test func aFailingSlotWriteEndsTheSwuStreamWithItsError() throws {
        struct WriteFailed: Error, Equatable {}
        final class FailingSink: ImageSink {
            var writes = 0
            func write(_ bytes: UnsafeRawBufferPointer, at offset: UInt64) throws {
                writes += 1
                throw WriteFailed()
            }
        }
        final class Outcome: @unchecked Sendable {
            var error: (any Error)?
            var sinkWrites = 0
            var member: String?
        }
        let sim = try SimulatedDeviceFixture("swu-sink-error")
        let release = try SwuRelease(sim, version: "3.0", seed: 3)
        try release.builder.describe(release.description(sim, securityVersion: 3))
        let swu = try release.swu("sink.swu")
        let keyring = try Keyring(contentsOf: sim.pki + "/keyring.pem")
        let outcome = Outcome()
        let finished = DispatchSemaphore(value: 0)
        // On its own thread, so that a regression (a second finish waiting forever) fails this
        // test after a timeout instead of hanging the suite. Checks happen back on the test's.
        Thread.detachNewThread {
            defer { finished.signal() }
            do {
                let reader = try SwuReader(source: try PipeByteSource(file: swu, name: "stream"), target: nil)
                _ = try reader.readManifest(keyring: keyring)
                guard let first = try reader.nextImage() else { return }
                try reader.streamImage(first, into: nil, limit: nil)
                guard let image = try reader.nextImage() else { return }
                outcome.member = image.member
                let sink = FailingSink()
                defer { outcome.sinkWrites = sink.writes }
                try reader.streamImage(image, into: sink, limit: nil)
            } catch {
                outcome.error = error
            }
        }
        guard finished.wait(timeout: .now() + 60) == .success else {
            Issue.record("streamImage did not return within 60 s after the sink failed")
            return
        }
        #expect(outcome.error as? WriteFailed == WriteFailed(), "\(String(describing: outcome.error))")
        #expect(outcome.member == "firmware.bin")
        #expect(outcome.sinkWrites == 1)
    }

    /// Tampering is refused with the same error types, classes and exit codes for both formats.
    @Test func tamperedBundlesFailAlikeInBothFormats() throws {
        let sim = try SimulatedDeviceFixture("swu-alike")
        let native = try sim.bundle("2.0", securityVersion: 2, seed: 2)
        let release = try SwuRelease(sim, version: "2.0", seed: 2)
        let good = release.description(sim, securityVersion: 2)
        let b = release.builder

        func failure(_ path: String) throws -> any Error {
            do {
                _ = try Self.installer(sim).install(from: try PipeByteSource(file: path, name: "stream"))
            } catch {
                return error
            }
            throw CLIError("\(path) was installed")
        }
        func flip(_ path: String, at offset: Int) throws -> String {
            var bytes = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
            bytes[offset] ^= 0x20
            let out = path + ".tampered-\(offset)"
            _ = FileManager.default.createFile(atPath: out, contents: Data(bytes))
            return out
        }

        // Signed content changed: manifest.json (its data starts at byte 512 of the tar) and
        // sw-description.
        let nativeManifest = try failure(try flip(native, at: 512 + 40))
        try b.describe(good)
        b.write("sw-description", Array(good.replacingOccurrences(of: "release 2.0", with: "release 2.1").utf8))
        let swuDescription = try failure(try release.swu("description.swu"))
        #expect(nativeManifest is SignatureError, "\(nativeManifest)")
        #expect(swuDescription is SignatureError, "\(swuDescription)")
        #expect((swuDescription as? any ClassifiedError)?.failureClass == .untrusted)
        #expect((nativeManifest as? any ClassifiedError)?.failureClass == .untrusted)

        // The signature itself changed.
        try b.describe(good)
        var signature = b.read("sw-description.sig")
        signature[signature.count - 20] ^= 0x01
        b.write("sw-description.sig", signature)
        let swuSignature = try failure(try release.swu("signature.swu"))
        #expect(swuSignature is SignatureError, "\(swuSignature)")
        #expect(FailureClass.untrusted.exitCode == 11)
        #expect((swuSignature as? any ClassifiedError)?.failureClass == .untrusted)

        // An image changed after signing: a hash mismatch, a bad bundle, in both formats.
        try b.describe(good)
        var stored = b.read("firmware.bin")
        stored[100] ^= 0xff
        b.write("firmware.bin", stored)
        let swuImage = try failure(try release.swu("image.swu"))
        // The native bundle's last member, found with `tar --block-number`: its data follows its header.
        let listing = try CLI.run("/usr/bin/env", ["tar", "--block-number", "-tvf", native])
        let lastHeader = try #require(
            listing.stdout.split(separator: "\n").last { $0.hasPrefix("block ") && $0.hasSuffix(".zst") })
        let block = try #require(Int(lastHeader.dropFirst(6).prefix { $0 != ":" }))
        let nativeImage = try failure(try flip(native, at: (block + 1) * 512 + 100))
        for error in [swuImage, nativeImage] {
            #expect((error as? any ClassifiedError)?.failureClass == .badBundle, "\(error)")
            #expect(FailureClass.badBundle.exitCode == 10)
        }
        guard case .hashMismatch = swuImage as? BundleError else {
            Issue.record("\(swuImage)")
            return
        }
        // None of it changed the running group, and the device still installs.
        #expect(try Self.installer(sim).install(from: try PipeByteSource(file: native, name: "stream")).kind == .staged)
    }
}
