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
            signature is verified first; without, it is shown as not checked.
            """
    )

    @Argument(help: "The bundle file.") var bundle: String
    @Option(help: "Verify the signature against this PEM bundle of CA certificates.") var keyring: String?
    @Flag(help: "Print JSON.") var json = false

    struct Report: Encodable {
        var bundle: String
        var bundleHash: String
        var signature: String
        var signer: String?
        var manifest: Manifest
    }

    func run() throws {
        try reportingFailures(json: json) {
            let ring = try keyring.map { try Keyring(contentsOf: $0) }
            let reader = try BundleReader(source: try FileByteSource(path: bundle))
            let verified = try reader.readManifest(keyring: ring)
            let manifest = verified.manifest
            if json {
                printJSON(
                    Report(
                        bundle: bundle, bundleHash: verified.bundleHash,
                        signature: ring == nil ? "not-checked" : "verified",
                        signer: verified.signer?.subject, manifest: manifest))
                return
            }
            print("bundle:           \(bundle)")
            print("compatible:       \(manifest.compatible)")
            print("version:          \(manifest.version)")
            print("security version: \(manifest.securityVersion)")
            print("created:          \(manifest.created)")
            if let description = manifest.description { print("description:      \(description)") }
            print("bundle hash:      \(verified.bundleHash)")
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
