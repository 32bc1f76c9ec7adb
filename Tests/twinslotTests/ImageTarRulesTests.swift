import Foundation
import Testing

/// Writes ustar bytes by hand, so an image can hold what no packer would write.
private struct RawTar {
    var bytes: [UInt8] = []

    mutating func add(
        _ name: String, type: UInt8 = 0x30, data: [UInt8] = [], link: String = "", gnu: Bool = false
    ) {
        var block = [UInt8](repeating: 0, count: 512)
        func put(_ text: String, at offset: Int) {
            for (i, byte) in text.utf8.enumerated() { block[offset + i] = byte }
        }
        func octal(_ value: Int, at offset: Int, width: Int) {
            let digits = String(value, radix: 8)
            put(String(repeating: "0", count: width - 1 - digits.count) + digits, at: offset)
        }
        put(name, at: 0)
        octal(type == 0x35 ? 0o755 : 0o644, at: 100, width: 8)
        octal(0, at: 108, width: 8)
        octal(0, at: 116, width: 8)
        octal(data.count, at: 124, width: 12)
        octal(0, at: 136, width: 12)
        block[156] = type
        put(link, at: 157)
        if gnu {
            put("ustar  ", at: 257)
            // One sparse extent covering the whole file, and the real size.
            octal(0, at: 386, width: 12)
            octal(data.count, at: 398, width: 12)
            octal(data.count, at: 483, width: 12)
        } else {
            put("ustar", at: 257)
            put("00", at: 263)
        }
        put("        ", at: 148)
        let sum = block.reduce(0) { $0 + Int($1) }
        octal(sum, at: 148, width: 7)
        bytes += block + data + [UInt8](repeating: 0, count: (512 - data.count % 512) % 512)
    }

    func finished(trailing: [UInt8] = []) -> [UInt8] { bytes + [UInt8](repeating: 0, count: 1024) + trailing }
}

/// The tar inside a directory image: whatever `install` would refuse, `bundle verify` refuses
/// too, both with exit 10, and the install leaves the running group as it was.
@Suite struct ImageTarRulesTests {
    static let file = Array("hello\n".utf8)

    /// Each hostile image, with the words the refusal must contain.
    static let cases: [(label: String, reason: String, image: [UInt8])] = {
        func tar(_ build: (inout RawTar) -> Void, trailing: [UInt8] = []) -> [UInt8] {
            var tar = RawTar()
            tar.add("bin/", type: 0x35)
            build(&tar)
            return tar.finished(trailing: trailing)
        }
        return [
            ("absolute", "absolute path", tar { $0.add("/etc/passwd", data: file) }),
            ("dotdot", "contains '..'", tar { $0.add("bin/../../escape", data: file) }),
            (
                "symlink", "goes through the symbolic link 'bin/up'",
                tar {
                    $0.add("bin/up", type: 0x32, link: "/tmp")
                    $0.add("bin/up/planted", data: file)
                }
            ),
            ("device", "a device node", tar { $0.add("bin/null", type: 0x33) }),
            ("fifo", "a FIFO", tar { $0.add("bin/pipe", type: 0x36) }),
            (
                "hardlink", "a hard link",
                tar {
                    $0.add("bin/a", data: file)
                    $0.add("bin/b", type: 0x31, link: "bin/a")
                }
            ),
            (
                "duplicate", "appears twice",
                tar {
                    $0.add("bin/a", data: file)
                    $0.add("bin/a", data: file)
                }
            ),
            ("control", "control character 0xa", tar { $0.add("bin/run\nforged", data: file) }),
            ("sparse", "sparse", tar { $0.add("bin/holes", type: 0x53, data: file, gnu: true) }),
            ("contiguous", "contiguous file", tar { $0.add("bin/fast", type: 0x37, data: file) }),
            ("trailing", "data after the end-of-archive marker", tar({ $0.add("bin/a", data: file) }, trailing: [7])),
            ("parent", "is not in the image before it", tar { $0.add("etc/motd", data: file) }),
            ("notatar", "not a valid tar archive", [UInt8](repeating: 0x41, count: 4096)),
        ]
    }()

    @Test(arguments: cases.map(\.label)) func verifyAndInstallRefuseAlike(label: String) throws {
        let hostile = Self.cases.first { $0.label == label }!
        let sim = try SimulatedDeviceFixture("imagetar-" + label)
        let image = sim.root + "/apps-\(label).tar"
        FileManager.default.createFile(atPath: image, contents: Data(hostile.image))
        let bundle = try sim.bundle("2.0", securityVersion: 2, seed: 2, appsImage: image)
        let before = sim.snapshot(journal: false)

        let verified = try sim.twinslot("bundle", "verify", bundle, "--keyring", sim.pki + "/keyring.pem")
        #expect(verified.status == 10, "verify: \(verified.stdout)\(verified.stderr)")
        #expect(verified.stderr.contains(hostile.reason), "verify: \(verified.stderr)")

        let installed = try sim.twinslot("install", bundle)
        #expect(installed.status == 10, "install: \(installed.stderr)")
        #expect(installed.stderr.contains(hostile.reason), "install: \(installed.stderr)")
        #expect(sim.snapshot(journal: false) == before)
        let status = try sim.status()
        #expect(status["next_boot"] as? String == "A")
        #expect(status["primary"] as? String == "A")
        #expect(!FileManager.default.fileExists(atPath: "/tmp/planted"))
        #expect(!FileManager.default.fileExists(atPath: sim.device + "/apps/escape"))
    }

    /// The same image without the hostile entry installs: the rules refuse only what they name.
    @Test func aPlainImageVerifiesAndInstalls() throws {
        let sim = try SimulatedDeviceFixture("imagetar-plain")
        var tar = RawTar()
        tar.add("./", type: 0x35)
        tar.add("bin/", type: 0x35)
        tar.add("bin/run", data: Self.file)
        tar.add("current", type: 0x32, link: "bin")
        let image = sim.root + "/apps.tar"
        // GNU tar's record padding: zeros to the next multiple of 10240 bytes.
        let bytes = tar.finished()
        let padded = bytes + [UInt8](repeating: 0, count: (10240 - bytes.count % 10240) % 10240)
        FileManager.default.createFile(atPath: image, contents: Data(padded))
        let bundle = try sim.bundle("2.0", securityVersion: 2, seed: 2, appsImage: image)
        let verified = try sim.twinslot("bundle", "verify", bundle, "--keyring", sim.pki + "/keyring.pem")
        #expect(verified.status == 0, "\(verified.stderr)")
        let installed = try sim.twinslot("install", bundle)
        #expect(installed.status == 0, "\(installed.stderr)")
        #expect(sim.bytes("apps/b/bin/run") == Data(Self.file))
    }
}
