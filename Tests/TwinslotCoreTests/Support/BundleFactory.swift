import Foundation

@testable import TwinslotCore

/// A valid signed bundle taken apart into its members, so a test can put it back together
/// with one thing changed.
struct BundleParts {
    var manifest: [UInt8]
    var signature: [UInt8]
    var images: [(name: String, data: [UInt8])]
    var directory: String

    /// A bundle with a raw rootfs image and an apps tar, signed by the test signer.
    static func make(
        rootfsSize: Int = 300_000, compatible: String = "test-board", version: String = "2.0",
        securityVersion: UInt64 = 2
    ) throws -> BundleParts {
        let directory = Fixtures.temporaryDirectory("bundle")
        Fixtures.write(Fixtures.imageBytes(count: rootfsSize, seed: 1), to: directory + "/rootfs.img")
        try FileManager.default.createDirectory(atPath: directory + "/apps/bin", withIntermediateDirectories: true)
        Fixtures.write(Array("#!/bin/sh\necho v2\n".utf8), to: directory + "/apps/bin/hello")
        let writer = BundleWriter(
            compatible: compatible, version: version, securityVersion: securityVersion,
            images: [
                .init(slotClass: "rootfs", path: directory + "/rootfs.img"),
                .init(slotClass: "apps", path: directory + "/apps"),
            ])
        let path = directory + "/bundle.tsb"
        try writer.write(to: path, signing: .identity(try Fixtures.signer()))
        return try split(path, directory: directory)
    }

    static func split(_ path: String, directory: String) throws -> BundleParts {
        let tar = try TarStreamReader(source: try FileByteSource(path: path))
        var members: [(String, [UInt8])] = []
        while let entry = try tar.nextEntry() {
            var data: [UInt8] = []
            while let block = try tar.nextBlock() { data += block }
            members.append((entry.name, data))
        }
        return BundleParts(
            manifest: members[0].1, signature: members[1].1, images: Array(members[2...]).map { ($0.0, $0.1) },
            directory: directory)
    }

    var decodedManifest: Manifest { try! Manifest.decode(manifest) }

    /// Replaces the manifest and signs the new bytes with `signer`.
    mutating func resign(_ manifest: [UInt8], signer: String = "signer") throws {
        self.manifest = manifest
        signature = try Fixtures.signer(signer).sign(manifest)
    }

    mutating func resign(editing edit: (inout Manifest) -> Void) throws {
        var decoded = decodedManifest
        edit(&decoded)
        try resign(decoded.encoded())
    }

    var builder: TarBuilder {
        TarBuilder(
            members: [
                .init(name: Manifest.memberName, data: manifest),
                .init(name: Manifest.signatureMemberName, data: signature),
            ] + images.map { .init(name: $0.name, data: $0.data) })
    }

    func write(_ bytes: [UInt8], name: String = "case.tsb") -> String {
        let path = directory + "/" + name
        Fixtures.write(bytes, to: path)
        return path
    }
}

/// Reads and verifies a whole bundle the way `bundle verify` does; returns the error it threw.
func verifyError(_ path: String, keyring: Keyring? = nil, profile: DeviceProfile? = nil) -> (any Error)? {
    do {
        let ring = try keyring ?? Fixtures.keyring()
        let reader = try BundleReader(source: try FileByteSource(path: path))
        let verified = try reader.readManifest(keyring: ring)
        try profile?.check(verified.manifest)
        while let image = try reader.nextImage() { try reader.streamImage(image, into: nil) }
        return nil
    } catch {
        return error
    }
}
