import Foundation
import Testing

@testable import TwinslotCore

@Suite struct BundleRoundTripTests {
    @Test func createVerifyExtractGivesBackTheImagesByteForByte() throws {
        let directory = Fixtures.temporaryDirectory("roundtrip")
        // Larger than several pipeline buffers, and not a multiple of any buffer size.
        let rootfs = Fixtures.imageBytes(count: 9 * ImagePipeline.bufferSize + 12345, seed: 7)
        Fixtures.write(rootfs, to: directory + "/rootfs.img")
        Fixtures.write([], to: directory + "/empty.img")
        let writer = BundleWriter(
            compatible: "test-board", version: "3.1.4", securityVersion: 5, description: "round trip",
            images: [
                .init(slotClass: "rootfs", path: directory + "/rootfs.img"),
                .init(slotClass: "firmware", path: directory + "/empty.img"),
            ])
        let written = try writer.write(to: directory + "/b.tsb", signing: .identity(try Fixtures.signer()))

        let reader = try BundleReader(source: try FileByteSource(path: directory + "/b.tsb"))
        let verified = try reader.readManifest(keyring: try Fixtures.keyring())
        #expect(verified.manifest == written.manifest)
        #expect(verified.bundleHash == SHA256Hasher.hex(of: verified.bytes))
        #expect(verified.signer?.subject.contains("Test Signer") == true)
        #expect(verified.manifest.images.map(\.slotClass) == ["rootfs", "firmware"])
        #expect(verified.manifest.images[0].size == UInt64(rootfs.count))
        #expect(verified.manifest.images[0].sha256 == SHA256Hasher.hex(of: rootfs))
        #expect(verified.manifest.images[1].size == 0)
        #expect(!FileManager.default.fileExists(atPath: directory + "/b.tsb.parts"))

        let out = directory + "/out"
        _ = try BundleExtractor.extract(bundle: directory + "/b.tsb", keyring: try Fixtures.keyring(), into: out)
        #expect(Fixtures.read(out + "/rootfs.img") == rootfs)
        #expect(Fixtures.read(out + "/firmware.img") == [])
        #expect(Fixtures.read(out + "/manifest.json") == verified.bytes)
    }

    /// An image that ends exactly at a pipeline buffer's end once made zstd look unfinished.
    @Test(arguments: [ImagePipeline.bufferSize, 3 * ImagePipeline.bufferSize, 3 * ImagePipeline.bufferSize - 1])
    func imagesEndingAtABufferBoundary(size: Int) throws {
        let directory = Fixtures.temporaryDirectory("boundary")
        Fixtures.write(Fixtures.imageBytes(count: size, seed: UInt64(size)), to: directory + "/rootfs.img")
        let writer = BundleWriter(
            compatible: "test-board", version: "1", securityVersion: 1,
            images: [.init(slotClass: "rootfs", path: directory + "/rootfs.img")])
        try writer.write(to: directory + "/b.tsb", signing: .identity(try Fixtures.signer()))
        #expect(verifyError(directory + "/b.tsb") == nil)
    }

    @Test func theBundleIsAPlainTarThatTheTarToolLists() throws {
        let parts = try BundleParts.make()
        let result = try Fixtures.run("/bin/tar", ["-tvf", parts.directory + "/bundle.tsb"])
        #expect(result.status == 0)
        let names = result.stdout.split(separator: "\n").map { $0.split(separator: " ").last.map(String.init) ?? "" }
        #expect(names == ["manifest.json", "manifest.sig", "rootfs.img.zst", "apps.tar.zst"])
    }

    @Test func membersDecompressWithTheZstdTool() throws {
        let parts = try BundleParts.make()
        let member = parts.directory + "/rootfs.img.zst"
        Fixtures.write(parts.images[0].data, to: member)
        let result = try Fixtures.run(
            "/usr/bin/zstd", ["-d", "-q", "-f", member, "-o", parts.directory + "/plain.img"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(Fixtures.read(parts.directory + "/plain.img") == Fixtures.imageBytes(count: 300_000, seed: 1))
    }

    @Test func twoStepSigningWithTheOpenSSLCommandLine() throws {
        let directory = Fixtures.temporaryDirectory("twostep")
        let pki = try Fixtures.pki()
        Fixtures.write(Fixtures.imageBytes(count: 100_000, seed: 3), to: directory + "/rootfs.img")
        let writer = BundleWriter(
            compatible: "test-board", version: "1.0", securityVersion: 1,
            images: [.init(slotClass: "rootfs", path: directory + "/rootfs.img")])
        try writer.write(to: directory + "/unsigned.tsb", signing: .unsigned)
        #expect(verifyError(directory + "/unsigned.tsb") as? BundleError == .unsigned)

        let manifest = try BundleSigner.manifestBytes(of: directory + "/unsigned.tsb")
        Fixtures.write(manifest, to: directory + "/manifest.json")
        let sign = try Fixtures.run(
            "/usr/bin/openssl",
            [
                "cms", "-sign", "-binary", "-outform", "DER", "-in", directory + "/manifest.json", "-signer",
                pki + "/signer.pem", "-inkey", pki + "/signer.key", "-certfile", pki + "/signer-chain.pem", "-out",
                directory + "/manifest.sig",
            ])
        #expect(sign.status == 0, "\(sign.stderr)")
        try BundleSigner.sign(
            unsigned: directory + "/unsigned.tsb", signature: Fixtures.read(directory + "/manifest.sig"),
            keyring: try Fixtures.keyring(), output: directory + "/signed.tsb")
        #expect(verifyError(directory + "/signed.tsb") == nil)

        // A signature over other bytes is refused at signing time when a keyring is given.
        #expect(throws: SignatureError.self) {
            try BundleSigner.sign(
                unsigned: directory + "/unsigned.tsb", signature: try Fixtures.signer().sign([1, 2, 3]),
                keyring: try Fixtures.keyring(), output: directory + "/bad.tsb")
        }
    }

    @Test func aSHA1SignatureIsRefused() throws {
        let parts = try BundleParts.make()
        let pki = try Fixtures.pki()
        Fixtures.write(parts.manifest, to: parts.directory + "/manifest.json")
        let sign = try Fixtures.run(
            "/usr/bin/openssl",
            [
                "cms", "-sign", "-binary", "-outform", "DER", "-md", "sha1", "-in", parts.directory + "/manifest.json",
                "-signer", pki + "/signer.pem", "-inkey", pki + "/signer.key", "-certfile", pki + "/signer-chain.pem",
                "-out", parts.directory + "/sha1.sig",
            ])
        #expect(sign.status == 0, "\(sign.stderr)")
        var copy = parts
        copy.signature = Fixtures.read(parts.directory + "/sha1.sig")
        let error = verifyError(parts.write(copy.builder.bytes()))
        #expect(error as? SignatureError == .weakDigest("SHA1"))
        #expect((error as? SignatureError)?.failureClass == .untrusted)
    }

    @Test func aTwinslotSignatureVerifiesWithTheOpenSSLCommandLine() throws {
        let parts = try BundleParts.make()
        let pki = try Fixtures.pki()
        Fixtures.write(parts.manifest, to: parts.directory + "/manifest.json")
        Fixtures.write(parts.signature, to: parts.directory + "/manifest.sig")
        let result = try Fixtures.run(
            "/usr/bin/openssl",
            [
                "cms", "-verify", "-binary", "-inform", "DER", "-in", parts.directory + "/manifest.sig", "-content",
                parts.directory + "/manifest.json", "-CAfile", pki + "/keyring.pem", "-purpose", "any", "-out",
                "/dev/null",
            ])
        #expect(result.status == 0, "\(result.stderr)")
    }
}

/// Found by the crash harness: a sink that failed mid-image (a power cut, an I/O error) made
/// `streamImage` wait forever for a pipeline thread that had already ended.
@Suite struct FailingSinkTests {
    final class FailingSink: ImageSink {
        var calls = 0
        func write(_ bytes: UnsafeRawBufferPointer, at offset: UInt64) throws {
            calls += 1
            if calls == 2 { throw StorageError("write", "/dev/slot", errno: .ioError) }
        }
    }

    @Test func aSinkErrorEndsTheStreamWithThatError() throws {
        let directory = Fixtures.temporaryDirectory("failing-sink")
        Fixtures.write(Fixtures.imageBytes(count: 5 * ImagePipeline.bufferSize, seed: 11), to: directory + "/r.img")
        let writer = BundleWriter(
            compatible: "b", version: "1", securityVersion: 1,
            images: [.init(slotClass: "rootfs", path: directory + "/r.img")])
        try writer.write(to: directory + "/b.tsb", signing: .identity(try Fixtures.signer()))
        let reader = try BundleReader(source: try FileByteSource(path: directory + "/b.tsb"))
        _ = try reader.readManifest(keyring: try Fixtures.keyring())
        let image = try #require(try reader.nextImage())
        #expect(throws: StorageError.self) { try reader.streamImage(image, into: FailingSink()) }
    }
}
