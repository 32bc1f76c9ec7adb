import ArgumentParser
import SystemPackage
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
    @Option(
        help: ArgumentHelp(
            "The devices' keyring (PEM): check the signer as a device will, before anything is written.",
            discussion:
                "Without it, only what no keyring can fix is refused (an expired signer, one without codeSigning)."
        ))
    var keyring: String?
    @Flag(help: "Write an unsigned bundle, to be signed with 'twinslot bundle sign'.") var unsigned = false
    @Option(help: "zstd compression level (1-19).") var compressionLevel: Int32 = 3

    func validate() throws {
        if images.isEmpty { throw ValidationError("give at least one --image CLASS=PATH") }
        if unsigned && (cert != nil || key != nil || chain != nil || keyring != nil) {
            throw ValidationError("--unsigned excludes --cert, --key, --chain and --keyring")
        }
        if !unsigned && (cert == nil || key == nil) {
            throw ValidationError("give --cert and --key to sign, or --unsigned to sign later")
        }
        if !(1...19).contains(compressionLevel) { throw ValidationError("--compression-level must be 1 to 19") }
        var classes: Set<String> = []
        for image in images {
            let parts = image.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                throw ValidationError("--image '\(image)' must be CLASS=PATH")
            }
            let slotClass = String(parts[0])
            guard Manifest.isValidSlotClass(slotClass) else {
                throw ValidationError("--image '\(image)': slot class '\(slotClass)' must match [a-z][a-z0-9_-]{0,31}")
            }
            guard classes.insert(slotClass).inserted else {
                throw ValidationError("--image: slot class '\(slotClass)' is given twice; one image per class")
            }
        }
        // The output is a file made beside its name (FILE.tmp, FILE.parts): a directory there,
        // or a directory that does not exist, is a wrong --out, not something to create.
        let storage = PosixStorage()
        if case .directory = storage.fileKind(FilePath(out)) {
            throw ValidationError("--out \(out) is a directory; give the bundle's file name")
        }
        let parent = FilePath(out).removingLastComponent()
        if !parent.isEmpty, storage.fileKind(parent) == nil {
            throw ValidationError("--out \(out): the directory \(parent) does not exist")
        }
    }

    func run() throws {
        try reportingFailures {
            let inputs = images.map { spec -> BundleWriter.ImageInput in
                let parts = spec.split(separator: "=", maxSplits: 1)
                return .init(slotClass: String(parts[0]), path: String(parts[1]))
            }
            let signing: BundleWriter.Signing
            if unsigned {
                signing = .unsigned
            } else {
                let identity = try SigningIdentity(certificatePEM: cert!, privateKeyPEM: key!, chainPEM: chain)
                try checkSigner(identity, keyring: keyring)
                signing = .identity(identity)
            }
            var writer = BundleWriter(
                compatible: compatible, version: version, securityVersion: securityVersion,
                description: description, images: inputs)
            writer.compressionLevel = compressionLevel
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
