import Foundation
import Testing

/// The container tools an OCI slot is made for. A missing tool fails the test that needs it
/// (scripts/setup.sh installs both): an OCI test that skipped would prove nothing.
enum OCITools {
    static func path(_ name: String) throws -> String {
        for directory in ["/usr/bin", "/usr/local/bin", "/bin"]
        where FileManager.default.isExecutableFile(atPath: directory + "/" + name) {
            return directory + "/" + name
        }
        throw CLIError("\(name) is not installed: scripts/setup.sh installs it (apt-get install -y skopeo umoci)")
    }

    @discardableResult
    static func run(_ tool: String, _ arguments: String...) throws -> CLI.Result {
        let result = try CLI.run(try path(tool), arguments)
        guard result.status == 0 else { throw CLIError("\(tool) \(arguments) failed: \(result.stderr)") }
        return result
    }
}

/// A small OCI image layout made by umoci, with no registry: tag `t`, one layer holding
/// `app/hello`, and the blobs of the empty image before the layer was added, which no
/// descriptor reaches any more (an unreferenced blob is allowed).
struct OCILayoutFixture {
    let path: String
    static let hello = "hello from the OCI slot\n"

    init(at path: String) throws {
        self.path = path
        try OCITools.run("umoci", "init", "--layout", path)
        try OCITools.run("umoci", "new", "--image", path + ":t")
        let unpacked = path + ".unpacked"
        let rootless = getuid() == 0 ? [] : ["--rootless"]
        let unpack = try CLI.run(
            try OCITools.path("umoci"), ["unpack"] + rootless + ["--image", path + ":t", unpacked])
        guard unpack.status == 0 else { throw CLIError("umoci unpack failed: \(unpack.stderr)") }
        try FileManager.default.createDirectory(atPath: unpacked + "/rootfs/app", withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: unpacked + "/rootfs/app/hello", contents: Data(Self.hello.utf8))
        try OCITools.run("umoci", "repack", "--image", path + ":t", unpacked)
        try FileManager.default.removeItem(atPath: unpacked)
    }

    func json(_ relative: String) throws -> [String: Any] {
        let data = try Data(contentsOf: URL(fileURLWithPath: path + "/" + relative))
        return try JSONSerialization.jsonObject(with: data) as! [String: Any]
    }

    /// `blobs/<alg>/<hex>` of a digest.
    static func blob(_ digest: String) -> String { "blobs/" + digest.replacingOccurrences(of: ":", with: "/") }

    var manifestDigest: String {
        get throws { (try json("index.json")["manifests"] as! [[String: Any]])[0]["digest"] as! String }
    }

    var layer: (digest: String, size: Int) {
        get throws {
            let layers = try json(Self.blob(try manifestDigest))["layers"] as! [[String: Any]]
            return (layers[0]["digest"] as! String, layers[0]["size"] as! Int)
        }
    }

    func write(_ relative: String, _ text: String) {
        FileManager.default.createFile(atPath: path + "/" + relative, contents: Data(text.utf8))
    }

    /// index.json with the first descriptor's digest replaced.
    func setIndexDigest(_ digest: String) throws {
        let text = try String(contentsOfFile: path + "/index.json", encoding: .utf8)
        write("index.json", text.replacingOccurrences(of: try manifestDigest, with: digest))
    }
}

/// A simulated device with one more slot class, `containers`, of type `oci`.
struct OCIDeviceFixture {
    let sim: SimulatedDeviceFixture
    var current: String { sim.device + "/containers/current" }

    init(_ label: String) throws {
        sim = try SimulatedDeviceFixture("oci-" + label)
        try FileManager.default.createDirectory(
            atPath: sim.device + "/containers/a", withIntermediateDirectories: true)
        let config = try String(contentsOfFile: sim.config, encoding: .utf8)
        let slot = """

            [slots.containers]
            type = "oci"
            a = "\(sim.device)/containers/a"
            b = "\(sim.device)/containers/b"
            current = "\(sim.device)/containers/current"

            """
        try (config + slot).write(toFile: sim.config, atomically: true, encoding: .utf8)
    }

    func layout(_ name: String = "layout") throws -> OCILayoutFixture {
        try OCILayoutFixture(at: sim.root + "/" + name)
    }

    /// A bundle for every class, the containers image being the layout `path` (a directory,
    /// packed by `bundle create`, or a `.tar`).
    func bundle(_ version: String, containers path: String) throws -> String {
        try sim.bundle(version, securityVersion: 2, seed: 2, extraImages: ["containers": path])
    }
}

@Suite struct OCISlotTests {
    @Test func anOCILayoutInstallsCommitsAndIsReadableBySkopeoAndUmoci() throws {
        let device = try OCIDeviceFixture("install")
        let layout = try device.layout()
        let manifest = try layout.manifestDigest
        let blobs = try FileManager.default.contentsOfDirectory(atPath: layout.path + "/blobs/sha256")
        #expect(blobs.count > 3, "umoci's repack leaves the first image's blobs behind, unreferenced: \(blobs)")

        let installed = try device.sim.twinslot("install", try device.bundle("2.0", containers: layout.path))
        #expect(installed.status == 0, "\(installed.stderr)")
        #expect(
            installed.stdout.contains("containers -> \(device.sim.device)/containers/b"), "\(installed.stdout)")
        #expect(installed.stdout.contains("read back OK, OCI layout verified"), "\(installed.stdout)")
        let reboot = try CLI.twinslot("sim", "reboot", device.sim.device)
        #expect(reboot.stdout.contains("committed"), "\(reboot.stdout)\(reboot.stderr)")
        #expect(
            try FileManager.default.destinationOfSymbolicLink(atPath: device.current) == device.sim.device
                + "/containers/b")

        let inspected = try OCITools.run("skopeo", "inspect", "oci:\(device.current):t")
        let inspection = try JSONSerialization.jsonObject(with: Data(inspected.stdout.utf8)) as! [String: Any]
        #expect(inspection["Digest"] as? String == manifest)
        let listed = try OCITools.run("umoci", "ls", "--layout", device.current)
        #expect(listed.stdout.split(separator: "\n").contains("t"), "\(listed.stdout)")
        // The layer itself is readable: copied out of the slot and unpacked, it holds the file.
        let copy = device.sim.root + "/copied"
        try OCITools.run("skopeo", "copy", "oci:\(device.current):t", "oci:\(copy):t")
        let rootless = getuid() == 0 ? [] : ["--rootless"]
        let unpack = try CLI.run(
            try OCITools.path("umoci"), ["unpack"] + rootless + ["--image", copy + ":t", copy + ".unpacked"])
        #expect(unpack.status == 0, "\(unpack.stderr)")
        #expect(
            FileManager.default.contents(atPath: copy + ".unpacked/rootfs/app/hello")
                == Data(OCILayoutFixture.hello.utf8))
    }

    /// A bundle that does not carry the containers (a rootfs-only fix) copies the running
    /// group's layout into the target group: after the flip the runtime reads the same images.
    @Test func aBundleWithoutTheContainersCopiesTheRunningLayout() throws {
        let device = try OCIDeviceFixture("partial")
        let layout = try device.layout()
        #expect(try device.sim.twinslot("install", try device.bundle("2.0", containers: layout.path)).status == 0)
        #expect(try CLI.twinslot("sim", "reboot", device.sim.device).stdout.contains("committed"))
        let v3 = try device.sim.bundle("3.0", securityVersion: 3, seed: 3, classes: ["rootfs"])
        let installed = try device.sim.twinslot("install", v3)
        #expect(installed.status == 0, "\(installed.stderr)")
        #expect(installed.stdout.contains("containers -> \(device.sim.device)/containers/a"), "\(installed.stdout)")
        #expect(installed.stdout.contains("copied from \(device.sim.device)/containers/b"), "\(installed.stdout)")
        #expect(
            try PartialBundleTests.tree(device.sim.device + "/containers/a")
                == PartialBundleTests.tree(device.sim.device + "/containers/b"))
        let reboot = try CLI.twinslot("sim", "reboot", device.sim.device)
        #expect(reboot.stdout.contains("committed"), "\(reboot.stdout)\(reboot.stderr)")
        #expect(
            try FileManager.default.destinationOfSymbolicLink(atPath: device.current) == device.sim.device
                + "/containers/a")
        let inspected = try OCITools.run("skopeo", "inspect", "oci:\(device.current):t")
        #expect(inspected.stdout.contains(try layout.manifestDigest))
    }

    /// What `skopeo copy … oci-archive:FILE.tar` writes is an image as it is, no repacking.
    @Test func skopeosOCIArchiveIsAnImageAsItIs() throws {
        let device = try OCIDeviceFixture("archive")
        let layout = try device.layout()
        let archive = device.sim.root + "/image.tar"
        try OCITools.run("skopeo", "copy", "oci:\(layout.path):t", "oci-archive:\(archive):t")
        let installed = try device.sim.twinslot("install", try device.bundle("2.0", containers: archive))
        #expect(installed.status == 0, "\(installed.stderr)")
        #expect(try CLI.twinslot("sim", "reboot", device.sim.device).stdout.contains("committed"))
        let inspected = try OCITools.run("skopeo", "inspect", "oci:\(device.current):t")
        #expect(inspected.stdout.contains(try layout.manifestDigest))
    }

    struct Refusal: Sendable {
        var label: String
        /// What the refusal must say, given the layout before it was broken.
        var says: @Sendable (OCILayoutFixture) throws -> [String]
        var breakIt: @Sendable (OCILayoutFixture) throws -> Void
    }

    static let refusals: [Refusal] = [
        Refusal(
            label: "corrupt-layer",
            says: {
                [
                    "manifests[0]", "layers[0] (\(OCILayoutFixture.blob(try $0.layer.digest)))",
                    "not the descriptor's digest",
                ]
            },
            breakIt: { layout in
                let path = layout.path + "/" + OCILayoutFixture.blob(try layout.layer.digest)
                var bytes = [UInt8](FileManager.default.contents(atPath: path)!)
                bytes[bytes.count / 2] ^= 0x01
                FileManager.default.createFile(atPath: path, contents: Data(bytes))
            }),
        Refusal(
            label: "layer-size",
            says: { layout in
                let layer = try layout.layer
                return [
                    "layers[0] (\(OCILayoutFixture.blob(layer.digest)))",
                    "the blob has \(layer.size + 1) bytes, the descriptor says \(layer.size)",
                ]
            },
            breakIt: { layout in
                let handle = try FileHandle(
                    forWritingTo: URL(
                        fileURLWithPath: layout.path + "/" + OCILayoutFixture.blob(try layout.layer.digest)))
                try handle.seekToEnd()
                try handle.write(contentsOf: Data([0]))
                try handle.close()
            }),
        Refusal(
            label: "missing-blob",
            says: { ["layers[0] (\(OCILayoutFixture.blob(try $0.layer.digest))): the blob is not in the layout"] },
            breakIt: {
                try FileManager.default.removeItem(atPath: $0.path + "/" + OCILayoutFixture.blob(try $0.layer.digest))
            }),
        Refusal(
            label: "bad-algorithm",
            says: { _ in
                [
                    "index.json manifests[0]: digest \"md5:d41d8cd98f00b204e9800998ecf8427e\": algorithm 'md5' is not supported"
                ]
            },
            breakIt: { try $0.setIndexDigest("md5:d41d8cd98f00b204e9800998ecf8427e") }),
        Refusal(
            label: "dot-dot",
            says: { _ in
                [
                    "index.json manifests[0]: digest \"sha256:../../../../etc/passwd\" does not match the image-spec's grammar"
                ]
            },
            breakIt: { try $0.setIndexDigest("sha256:../../../../etc/passwd") }),
        Refusal(
            label: "no-oci-layout",
            says: { _ in ["oci-layout: the layout has no 'oci-layout'"] },
            breakIt: { try FileManager.default.removeItem(atPath: $0.path + "/oci-layout") }),
        Refusal(
            label: "layout-version",
            says: { _ in ["oci-layout: imageLayoutVersion is \"2.0.0\""] },
            breakIt: { $0.write("oci-layout", #"{"imageLayoutVersion":"2.0.0"}"#) }),
        Refusal(
            label: "index-not-json",
            says: { _ in ["index.json: not valid JSON"] },
            breakIt: { $0.write("index.json", "this is not JSON\n") }),
        Refusal(
            label: "duplicate-key",
            says: { _ in ["index.json: not valid JSON: duplicate name 'schemaVersion'"] },
            breakIt: { layout in
                let text = try String(contentsOfFile: layout.path + "/index.json", encoding: .utf8)
                layout.write(
                    "index.json",
                    text.replacingOccurrences(
                        of: "{\"schemaVersion\":2,", with: "{\"schemaVersion\":2,\"schemaVersion\":3,"))
            }),
        Refusal(
            label: "unreferenced-corrupt",
            says: { _ in
                [
                    "blobs/sha256/\(String(repeating: "ab", count: 32)): the blob's content has sha256 ",
                    "a blob is named by its digest",
                ]
            },
            breakIt: { $0.write("blobs/sha256/" + String(repeating: "ab", count: 32), "not what the name says\n") }),
        Refusal(
            label: "unknown-algorithm-directory",
            says: { _ in ["blobs/md5: not a digest algorithm twinslot verifies"] },
            breakIt: { layout in
                try FileManager.default.createDirectory(
                    atPath: layout.path + "/blobs/md5", withIntermediateDirectories: true)
                layout.write("blobs/md5/d41d8cd98f00b204e9800998ecf8427e", "")
            }),
    ]

    /// Each broken layout is a bad bundle (10) naming the blob or file and what is wrong; the
    /// target group is left not bootable and nothing of the running group changes.
    @Test(arguments: refusals.map(\.label)) func aBrokenLayoutIsRefusedBeforeItIsStaged(label: String) throws {
        let refusal = Self.refusals.first { $0.label == label }!
        let device = try OCIDeviceFixture("refuse-" + label)
        let layout = try device.layout()
        let says = try refusal.says(layout)
        try refusal.breakIt(layout)
        let bundle = try device.bundle("2.0", containers: layout.path)
        let before = device.sim.snapshot(journal: false)

        let installed = try device.sim.twinslot("install", bundle)
        #expect(installed.status == 10, "\(installed.stderr)")
        #expect(
            installed.stderr.contains("image 'containers.tar.zst' is not a valid OCI image layout"),
            "\(installed.stderr)")
        for text in says { #expect(installed.stderr.contains(text), "\(installed.stderr)") }
        #expect(device.sim.snapshot(journal: false) == before)
        #expect(!FileManager.default.fileExists(atPath: device.current))
        let status = try device.sim.status()
        #expect(status["next_boot"] as? String == "A")
        #expect(status["primary"] as? String == "A")
        #expect(device.sim.group("B", in: status)["bootloader"] as? String == "bad")
        #expect((status["last"] as! [String: Any])["outcome"] as? String == "failed")
        let slots = device.sim.group("B", in: status)["slots"] as! [[String: Any]]
        #expect(
            slots.first { $0["slot_class"] as? String == "containers" }?["status"] as? String != "staged", "\(slots)")
    }

    /// A layout whose digests are SHA-512 (no tool here writes one: made by hand) installs, and
    /// one byte flipped in its layer is found by the SHA-512 taken while the layer was written.
    @Test func sha512BlobsAreVerifiedToo() throws {
        let device = try OCIDeviceFixture("sha512")
        let layout = device.sim.root + "/sha512"
        try FileManager.default.createDirectory(atPath: layout + "/blobs/sha512", withIntermediateDirectories: true)
        /// Stores a blob under its SHA-512 and returns a descriptor of it.
        func store(_ bytes: Data, as mediaType: String) throws -> (hex: String, descriptor: String) {
            FileManager.default.createFile(atPath: layout + "/blob", contents: bytes)
            let hex = String(try CLI.run("/usr/bin/sha512sum", [layout + "/blob"]).stdout.prefix(128))
            try FileManager.default.moveItem(atPath: layout + "/blob", toPath: layout + "/blobs/sha512/" + hex)
            return (hex, #"{"mediaType":"\#(mediaType)","digest":"sha512:\#(hex)","size":\#(bytes.count)}"#)
        }
        let layer = Data((0..<5000).map { UInt8(truncatingIfNeeded: $0 &* 7) })
        let layerBlob = try store(layer, as: "application/vnd.oci.image.layer.v1.tar")
        let config = try store(
            Data(#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#.utf8),
            as: "application/vnd.oci.image.config.v1+json")
        let manifestType = "application/vnd.oci.image.manifest.v1+json"
        let manifest = try store(
            Data(
                #"{"schemaVersion":2,"mediaType":"\#(manifestType)","config":\#(config.descriptor),"layers":[\#(layerBlob.descriptor)]}"#
                    .utf8), as: manifestType)
        FileManager.default.createFile(
            atPath: layout + "/oci-layout", contents: Data(#"{"imageLayoutVersion":"1.0.0"}"#.utf8))
        FileManager.default.createFile(
            atPath: layout + "/index.json",
            contents: Data(#"{"schemaVersion":2,"manifests":[\#(manifest.descriptor)]}"#.utf8))

        let layerPath = layout + "/blobs/sha512/" + layerBlob.hex
        var flipped = layer
        flipped[100] ^= 0x01
        FileManager.default.createFile(atPath: layerPath, contents: flipped)
        let refused = try device.sim.twinslot("install", try device.bundle("2.0", containers: layout))
        #expect(refused.status == 10, "\(refused.stderr)")
        #expect(refused.stderr.contains("layers[0] (blobs/sha512/"), "\(refused.stderr)")
        #expect(refused.stderr.contains("the blob's sha512 is "), "\(refused.stderr)")

        FileManager.default.createFile(atPath: layerPath, contents: layer)
        let installed = try device.sim.twinslot("install", try device.bundle("2.1", containers: layout))
        #expect(installed.status == 0, "\(installed.stderr)")
    }

    /// `type = "oci"` is a directory slot in every other respect: it needs its `current`.
    @Test func anOCISlotWithoutCurrentIsAConfigurationError() throws {
        let sim = try SimulatedDeviceFixture("oci-config")
        let config = try String(contentsOfFile: sim.config, encoding: .utf8)
        let slot = "\n[slots.containers]\ntype = \"oci\"\na = \"/data/c/a\"\nb = \"/data/c/b\"\n"
        try (config + slot).write(toFile: sim.config, atomically: true, encoding: .utf8)
        let status = try sim.twinslot("status")
        #expect(status.status == 17, "\(status.stderr)")
        #expect(status.stderr.contains("slot 'containers': missing required key 'current'"), "\(status.stderr)")
    }
}
