import ArgumentParser
import TwinslotCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

struct BundleCreateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create",
        abstract: "Build a bundle from images and sign it.",
        discussion: """
            Each --image CLASS=PATH adds one image for slot class CLASS. PATH is a raw image \
            (written byte for byte into a raw slot), a .tar archive, or a directory (packed into a \
            tar) for a directory slot. Compression uses every core.

            To sign with a key that never leaves an HSM, create with --unsigned, sign the \
            manifest elsewhere, and add the signature with 'twinslot bundle sign':
              twinslot bundle create --unsigned --out u.tsb --compatible acme --version 2 --image rootfs=root.img
              tar -xOf u.tsb manifest.json > manifest.json
              openssl cms -sign -binary -outform DER -in manifest.json -signer signer.pem -inkey key.pem -out manifest.sig
              twinslot bundle sign u.tsb --signature manifest.sig --out signed.tsb
            """
    )

    @Option(help: "Where to write the bundle.") var out: String
    @Option(help: "The device compatible string the bundle is for.") var compatible: String
    @Option(help: "The bundle's version, shown in status and reports.") var version: String
    @Option(help: "Anti-rollback counter: devices refuse bundles below their installed one.")
    var securityVersion: UInt64 = 0
    @Option(help: "A free-text description stored in the manifest.") var description: String?
    @Option(name: .customLong("image"), help: "An image as CLASS=PATH; repeat for each slot class.")
    var images: [String] = []
    @Option(help: "The signer certificate (PEM).") var cert: String?
    @Option(help: "The signer's private key (PEM).") var key: String?
    @Option(help: "Intermediate certificates to carry in the signature (PEM).") var chain: String?
    @Flag(help: "Write an unsigned bundle, to be signed with 'twinslot bundle sign'.") var unsigned = false
    @Option(help: "zstd compression level (1-19).") var compressionLevel: Int32 = 3

    func validate() throws {
        if images.isEmpty { throw ValidationError("give at least one --image CLASS=PATH") }
        if unsigned && (cert != nil || key != nil) { throw ValidationError("--unsigned excludes --cert and --key") }
        if !unsigned && (cert == nil || key == nil) {
            throw ValidationError("give --cert and --key to sign, or --unsigned to sign later")
        }
        if !(1...19).contains(compressionLevel) { throw ValidationError("--compression-level must be 1 to 19") }
        for image in images where !image.contains("=") {
            throw ValidationError("--image '\(image)' must be CLASS=PATH")
        }
    }

    func run() throws {
        try reportingFailures {
            let inputs = images.map { spec -> BundleWriter.ImageInput in
                let parts = spec.split(separator: "=", maxSplits: 1)
                return .init(slotClass: String(parts[0]), path: String(parts[1]))
            }
            var writer = BundleWriter(
                compatible: compatible, version: version, securityVersion: securityVersion,
                description: description, images: inputs)
            writer.compressionLevel = compressionLevel
            let signing: BundleWriter.Signing =
                unsigned
                ? .unsigned
                : .identity(try SigningIdentity(certificatePEM: cert!, privateKeyPEM: key!, chainPEM: chain))
            let start = Date()
            let result = try writer.write(to: out, signing: signing)
            let seconds = Date().timeIntervalSince(start)
            print("created \(out): \(compatible) \(version), \(unsigned ? "unsigned" : "signed")")
            for image in result.manifest.images {
                print(
                    "  \(image.slotClass): \(image.content.rawValue) \(formatBytes(image.size)) -> \(formatBytes(image.compressedSize))"
                )
            }
            print("  bundle hash \(result.bundleHash), \(fixedPoint(seconds, digits: 2)) s")
        }
    }
}
