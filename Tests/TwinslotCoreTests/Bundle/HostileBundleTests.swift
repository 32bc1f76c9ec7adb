import Foundation
import Testing

@testable import TwinslotCore

/// The generated corpus of hostile bundles: each must be refused with its specific error, and
/// none may crash the reader.
@Suite struct HostileBundleTests {
    let parts: BundleParts

    init() throws { parts = try BundleParts.make() }

    func bundleError(_ error: (any Error)?) -> BundleError? { error as? BundleError }

    @Test func theUntouchedBundleVerifies() throws {
        #expect(verifyError(parts.write(parts.builder.bytes())) == nil)
    }

    @Test func emptyFile() {
        #expect(bundleError(verifyError(parts.write([]))) == .empty(source: parts.directory + "/case.tsb"))
    }

    @Test func notATar() {
        let error = bundleError(verifyError(parts.write(Fixtures.imageBytes(count: 5000, seed: 9))))
        guard case .notATar = error else { Issue.record("got \(String(describing: error))"); return }
    }

    @Test func truncatedAtEveryMemberBoundaryAndInsideEveryMember() throws {
        let builder = parts.builder
        let bytes = builder.bytes()
        var cuts: [Int] = []
        for (index, member) in builder.layout().enumerated() {
            if index > 0 { cuts.append(member.header) }  // a boundary (cutting at 0 is the empty file)
            cuts += [member.header + 100, member.data + 1, (member.data + member.end) / 2, member.end - 1]
        }
        for cut in cuts {
            let error = verifyError(parts.write(Array(bytes[..<cut])))
            let failure = (error as? any ClassifiedError)?.failureClass
            #expect(failure == .badBundle, "cut at \(cut): \(String(describing: error))")
            switch bundleError(error) {
            case .truncated, .missingMember, .notATar: break
            default: Issue.record("cut at \(cut): unexpected \(String(describing: error))")
            }
        }
    }

    @Test func flippedByteInTheManifestBreaksTheSignature() {
        var copy = parts
        copy.manifest[10] ^= 0x01
        let error = verifyError(parts.write(copy.builder.bytes()))
        guard case .contentMismatch = error as? SignatureError else {
            Issue.record("got \(String(describing: error))")
            return
        }
    }

    /// Bytes whose change must break verification: the DER's outer header and the SignerInfo's
    /// signature value at the end. (A byte inside an embedded certificate that the keyring
    /// also holds may change without effect: the keyring's copy is the one trusted.)
    @Test func flippedByteInTheSignature() {
        let count = parts.signature.count
        for offset in [0, 1, 2, 3] + stride(from: count - 1, to: count - 64, by: -7) {
            var copy = parts
            copy.signature[offset] ^= 0x40
            let error = verifyError(parts.write(copy.builder.bytes()))
            #expect(
                (error as? any ClassifiedError)?.failureClass == .untrusted,
                "signature byte \(offset): \(String(describing: error))")
        }
    }

    @Test func flippedByteInEachPayload() {
        for (index, image) in parts.images.enumerated() {
            for offset in [0, 5, image.data.count / 2, image.data.count - 1] {
                var copy = parts
                copy.images[index].data[offset] ^= 0x20
                let error = bundleError(verifyError(parts.write(copy.builder.bytes())))
                switch error {
                case .corruptPayload(let member, _, _), .hashMismatch(let member, _, _, _),
                    .imageSizeMismatch(let member, _, _), .inflatesBeyondDeclared(let member, _):
                    #expect(member == image.name)
                default: Issue.record("\(image.name) byte \(offset): got \(String(describing: error))")
                }
            }
        }
    }

    @Test func membersOutOfOrder() {
        var builder = parts.builder
        builder.members.swapAt(2, 3)
        #expect(
            bundleError(verifyError(parts.write(builder.bytes())))
                == .unexpectedMember(expected: parts.images[0].name, found: parts.images[1].name))
        var swapped = parts.builder
        swapped.members.swapAt(0, 1)
        #expect(
            bundleError(verifyError(parts.write(swapped.bytes())))
                == .unexpectedMember(expected: Manifest.memberName, found: Manifest.signatureMemberName))
    }

    @Test func missingMember() {
        var builder = parts.builder
        builder.members.removeLast()
        #expect(bundleError(verifyError(parts.write(builder.bytes()))) == .missingMember(parts.images[1].name))
    }

    @Test func missingSignatureIsUnsigned() {
        var builder = parts.builder
        builder.members.remove(at: 1)
        let error = bundleError(verifyError(parts.write(builder.bytes())))
        #expect(error == .unsigned)
        #expect(error?.failureClass == .untrusted)
    }

    @Test func extraMember() {
        var builder = parts.builder
        builder.members.append(.init(name: "bonus.bin", data: [1, 2, 3]))
        #expect(bundleError(verifyError(parts.write(builder.bytes()))) == .extraMember("bonus.bin"))
    }

    @Test func duplicateMemberNames() {
        var builder = parts.builder
        builder.members.append(builder.members[2])
        #expect(bundleError(verifyError(parts.write(builder.bytes()))) == .duplicateMember(parts.images[0].name))
    }

    @Test func absolutePathsAndDotDot() throws {
        for name in ["/etc/passwd", "../escape", "a/../../b", "dir/file"] {
            var builder = parts.builder
            builder.members.append(.init(name: name, data: [1]))
            guard case .unsafeMemberName(name, _) = bundleError(verifyError(parts.write(builder.bytes()))) else {
                Issue.record("member \(name) was not refused as unsafe")
                continue
            }
        }
        // A signed manifest naming an escaping member is refused too.
        var copy = parts
        try copy.resign { $0.images[0].member = "../rootfs.img.zst" }
        guard case .unsafeMemberName = bundleError(verifyError(parts.write(copy.builder.bytes()))) else {
            Issue.record("manifest with '..' member accepted")
            return
        }
    }

    @Test func linksAndDeviceNodes() {
        let cases: [(TarBuilder.TypeFlag, String)] = [
            (.symlink, "symbolic link"), (.hardlink, "hard link"), (.characterDevice, "device node"),
            (.blockDevice, "device node"), (.fifo, "FIFO"), (.directory, "directory"),
        ]
        for (type, label) in cases {
            var builder = parts.builder
            builder.members[2] = .init(name: parts.images[0].name, data: [], type: type, linkName: "/etc/shadow")
            #expect(
                bundleError(verifyError(parts.write(builder.bytes())))
                    == .unsupportedMemberType(member: parts.images[0].name, type: label), "\(type)")
        }
    }

    @Test func memberLargerThanDeclared() {
        var builder = parts.builder
        builder.members[2].data += [0, 0, 0]
        let declared = UInt64(parts.images[0].data.count)
        #expect(
            bundleError(verifyError(parts.write(builder.bytes())))
                == .memberSizeMismatch(member: parts.images[0].name, declared: declared, actual: declared + 3))
    }

    @Test func zstdStreamInflatingFarBeyondItsDeclaredSize() throws {
        // 64 MiB of zeros compresses to a few KiB; the manifest declares 1 MiB.
        let directory = Fixtures.temporaryDirectory("bomb")
        let zeros = directory + "/zeros.img"
        FileManager.default.createFile(atPath: zeros, contents: Data(count: 64 << 20))
        let writer = BundleWriter(
            compatible: "test-board", version: "2.0", securityVersion: 2,
            images: [.init(slotClass: "rootfs", path: zeros)])
        try writer.write(to: directory + "/bomb.tsb", signing: .identity(try Fixtures.signer()))
        var bomb = try BundleParts.split(directory + "/bomb.tsb", directory: directory)
        try bomb.resign { $0.images[0].size = 1 << 20 }
        #expect(
            bundleError(verifyError(bomb.write(bomb.builder.bytes())))
                == .inflatesBeyondDeclared(member: "rootfs.img.zst", declared: 1 << 20))
    }

    @Test func manifestThatIsNotJSON() throws {
        var copy = parts
        try copy.resign(Array("{ this is not json".utf8))
        guard case .manifestInvalid(let detail) = bundleError(verifyError(parts.write(copy.builder.bytes()))) else {
            Issue.record("invalid JSON accepted")
            return
        }
        #expect(detail.contains("not valid JSON"))
    }

    /// A signed manifest must mean one thing to every reader: what JSON parsers disagree on is
    /// refused, whether signed or not (exit 10 through BundleError.manifestInvalid).
    @Test(arguments: [
        ("\"version\" : ", "\"version\" : \"9.9\", \"version\" : ", "duplicate name 'version'"),
        ("\"version\" : ", "\"\\u0076ersion\" : \"9.9\", \"version\" : ", "duplicate name 'version'"),
        ("\"sha256\" : ", "\"sha256\" : \"00\", \"sha256\" : ", "duplicate name 'sha256'"),
        ("\"sha256\" : ", "\"mode\" : \"0755\", \"sha256\" : ", "unknown key 'images[0].mode'"),
    ])
    func manifestsReadersDisagreeOn(anchor: String, replacement: String, expected: String) throws {
        var copy = parts
        let original = String(decoding: parts.manifest, as: UTF8.self)
        guard let range = original.range(of: anchor) else {
            Issue.record("anchor \(anchor) not in the manifest")
            return
        }
        try copy.resign(Array(original.replacingCharacters(in: range, with: replacement).utf8))
        guard case .manifestInvalid(let detail) = bundleError(verifyError(parts.write(copy.builder.bytes()))) else {
            Issue.record("accepted: \(replacement)")
            return
        }
        #expect(detail.contains(expected), "\(detail)")
    }

    @Test func manifestWithAByteOrderMarkOrTrailingData() throws {
        for bytes in [[0xEF, 0xBB, 0xBF] + parts.manifest, parts.manifest + Array("{}".utf8)] {
            var copy = parts
            try copy.resign(bytes)
            guard case .manifestInvalid = bundleError(verifyError(parts.write(copy.builder.bytes()))) else {
                Issue.record("accepted a manifest of \(bytes.count) bytes")
                continue
            }
        }
    }

    @Test func unknownFormatVersion() throws {
        var copy = parts
        let text = String(decoding: parts.manifest, as: UTF8.self)
            .replacingOccurrences(of: "\"format_version\" : 1", with: "\"format_version\" : 7")
        #expect(text != String(decoding: parts.manifest, as: UTF8.self))
        try copy.resign(Array(text.utf8))
        #expect(bundleError(verifyError(parts.write(copy.builder.bytes()))) == .unsupportedFormatVersion(7))
    }

    @Test func unknownSlotClassAndWrongCompatible() {
        let path = parts.write(parts.builder.bytes())
        let device = DeviceProfile(compatible: "test-board", slotContent: ["rootfs": .raw, "apps": .tar])
        #expect(verifyError(path, profile: device) == nil)
        let noApps = DeviceProfile(compatible: "test-board", slotContent: ["rootfs": .raw])
        let error = bundleError(verifyError(path, profile: noApps))
        #expect(error == .unknownSlotClass("apps", known: ["rootfs"]))
        #expect(error?.failureClass == .incompatible)
        let other = DeviceProfile(compatible: "other-board", slotContent: ["rootfs": .raw, "apps": .tar])
        #expect(
            bundleError(verifyError(path, profile: other))
                == .incompatible(expected: "other-board", found: "test-board"))
        let wrongKind = DeviceProfile(compatible: "test-board", slotContent: ["rootfs": .raw, "apps": .raw])
        #expect(
            bundleError(verifyError(path, profile: wrongKind))
                == .slotContentMismatch(slotClass: "apps", slotType: "raw", content: "tar"))
    }

    @Test func untrustedSigner() throws {
        var copy = parts
        try copy.resign(parts.manifest, signer: "other-signer")
        let error = verifyError(parts.write(copy.builder.bytes()))
        guard case .untrustedSigner = error as? SignatureError else {
            Issue.record("got \(String(describing: error))")
            return
        }
    }

    @Test func expiredSigner() throws {
        var copy = parts
        try copy.resign(parts.manifest, signer: "expired-signer")
        let error = verifyError(parts.write(copy.builder.bytes()))
        guard case .expiredCertificate = error as? SignatureError else {
            Issue.record("got \(String(describing: error))")
            return
        }
    }

    @Test func signerWithoutCodeSigningUsage() throws {
        var copy = parts
        try copy.resign(parts.manifest, signer: "wrong-usage-signer")
        let error = verifyError(parts.write(copy.builder.bytes()))
        guard case .wrongKeyUsage = error as? SignatureError else {
            Issue.record("got \(String(describing: error))")
            return
        }
    }

    @Test func signatureOverOtherBytes() throws {
        var copy = parts
        copy.signature = try Fixtures.signer().sign(Array("some other manifest".utf8))
        let error = verifyError(parts.write(copy.builder.bytes()))
        guard case .contentMismatch = error as? SignatureError else {
            Issue.record("got \(String(describing: error))")
            return
        }
    }

    @Test func extractNeverWritesOutsideItsDirectory() throws {
        let path = parts.write(parts.builder.bytes())
        let outside = Fixtures.temporaryDirectory("outside")
        Fixtures.write(Array("precious".utf8), to: outside + "/victim")
        let target = Fixtures.temporaryDirectory("extract")
        try FileManager.default.createSymbolicLink(
            atPath: target + "/rootfs.img", withDestinationPath: outside + "/victim")
        let extracted = try BundleExtractor.extract(bundle: path, keyring: try Fixtures.keyring(), into: target)
        #expect(extracted.map(\.slotClass) == ["rootfs", "apps"])
        #expect(Fixtures.read(outside + "/victim") == Array("precious".utf8))
        #expect(Fixtures.read(target + "/rootfs.img") == Fixtures.imageBytes(count: 300_000, seed: 1))
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: target).sorted()
        #expect(leftovers == ["apps.tar", "manifest.json", "rootfs.img"])
    }

    @Test func extractOfATamperedBundleLeavesNoImage() throws {
        var copy = parts
        copy.images[0].data[copy.images[0].data.count / 2] ^= 0xff
        let target = Fixtures.temporaryDirectory("extract-bad")
        #expect(throws: (any Error).self) {
            try BundleExtractor.extract(
                bundle: parts.write(copy.builder.bytes()), keyring: try Fixtures.keyring(), into: target)
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: target).isEmpty)
    }
}
