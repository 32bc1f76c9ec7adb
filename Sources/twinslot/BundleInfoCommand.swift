import ArgumentParser
import TwinslotCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

struct BundleInfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info",
        abstract: "Show a bundle's manifest.",
        discussion: """
            Reads only the manifest and signature (the first two members). With --keyring the \
            signature is verified first; without, it is shown as not checked. 'slot classes' lists \
            the classes the bundle carries; a device copies its other classes from the running \
            group when it installs the bundle (a partial bundle, docs/bundle-format.md). A SWUpdate .swu \
            (sw-description and sw-description.sig) is shown with every image of every set, \
            each with the target sw-description names (docs/swupdate.md).
            """
    )

    @Argument(help: "The bundle file.") var bundle: String
    @Option(help: "Verify the signature against this PEM bundle of CA certificates.") var keyring: String?
    @Flag(help: "Print JSON.") var json = false

    struct Report: Encodable {
        var bundle: String
        var format: String
        var bundleHash: String
        var signature: String
        var signer: String?
        /// The slot classes the bundle carries images for; a device's other classes are copied
        /// from its running group when it installs the bundle (a partial bundle).
        var slotClasses: [String]
        var manifest: Manifest
    }

    func run() throws {
        try reportingFailures(json: json) {
            let ring = try keyring.map { try Keyring(contentsOf: $0) }
            let reader = try BundleFormat.open(try FileByteSource(path: bundle), swu: nil)
            let verified = try reader.readManifest(keyring: ring)
            let swu = (reader as? SwuReader)?.swDescription
            let manifest = verified.manifest
            if json {
                printJSON(
                    Report(
                        bundle: bundle, format: swu == nil ? "twinslot" : "swupdate", bundleHash: verified.bundleHash,
                        signature: ring == nil ? "not-checked" : "verified",
                        signer: verified.signer?.subject, slotClasses: manifest.images.map(\.slotClass),
                        manifest: manifest))
                return
            }
            print("bundle:           \(bundle)")
            if let swu {
                print("format:           SWUpdate .swu")
                print("hardware:         \(swu.hardwareCompatibility?.joined(separator: ", ") ?? "(none listed)")")
                print("version:          \(manifest.version)")
                print("security version: \(manifest.securityVersion)")
                if let description = manifest.description { print("description:      \(description)") }
                print("bundle hash:      \(verified.bundleHash) (SHA-256 of sw-description)")
                if let signer = verified.signer {
                    print("signature:        verified, signed by \(signer.subject)")
                } else {
                    print("signature:        present, not checked (give --keyring to verify)")
                }
                print("images (every set):")
                for image in swu.images {
                    print("  \(image.filename)")
                    print("    type:       \(image.kind.rawValue)\(image.zstd ? ", zstd-compressed" : "")")
                    print("    target:     \(image.target)")
                    print("    sha256:     \(image.sha256) (as stored)")
                }
                return
            }
            print("compatible:       \(manifest.compatible)")
            print("version:          \(manifest.version)")
            print("security version: \(manifest.securityVersion)")
            print("created:          \(manifest.created)")
            if let description = manifest.description { print("description:      \(description)") }
            print("bundle hash:      \(verified.bundleHash)")
            print("slot classes:     \(manifest.images.map(\.slotClass).joined(separator: ", "))")
            if let signer = verified.signer {
                print("signature:        verified, signed by \(signer.subject)")
            } else {
                print("signature:        present, not checked (give --keyring to verify)")
            }
            print("images:")
            for image in manifest.images {
                print("  \(image.slotClass)")
                print("    member:     \(image.member) (\(image.content.rawValue))")
                print("    size:       \(image.size) bytes (\(formatBytes(image.size)))")
                print("    compressed: \(image.compressedSize) bytes (\(formatBytes(image.compressedSize)))")
                print("    sha256:     \(image.sha256)")
            }
        }
    }
}
