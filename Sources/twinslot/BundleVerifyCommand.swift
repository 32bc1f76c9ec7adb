import ArgumentParser
import TwinslotCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

struct BundleVerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Verify a bundle completely: signature, every member, every hash.",
        discussion: """
            Streams the whole bundle once (memory does not grow with its size) and exits 0 only \
            if the signature chains to the keyring and every image decompresses to exactly its \
            declared size and SHA-256, and every directory image's tar passes the checks install \
            extracts it with (docs/bundle-format.md). A SWUpdate .swu is verified the same way: the CMS \
            signature of sw-description, then every image of every set against its sha256.
            """
    )

    @Argument(help: "The bundle file.") var bundle: String
    @Option(help: "PEM bundle of trusted CA certificates.") var keyring: String
    @Flag(help: "Print JSON.") var json = false

    struct Report: Encodable {
        var bundle: String
        var verified: Bool
        var bundleHash: String
        var version: String
        var compatible: String
        var signer: String
        var images: [ImageReport]
        var seconds: Double
    }

    struct ImageReport: Encodable {
        var slotClass: String
        var size: UInt64
        var sha256: String
    }

    func run() throws {
        try reportingFailures(json: json) {
            let start = Date()
            let ring = try Keyring(contentsOf: keyring)
            let reader = try BundleFormat.open(try FileByteSource(path: bundle), swu: nil)
            let verified = try reader.readManifest(keyring: ring)
            var images: [ImageReport] = []
            while let image = try reader.nextImage() {
                // A directory image is walked as install extracts it (ImageTarRules), writing nothing.
                let tarCheck = image.content == .tar ? ImageTarCheckSink(member: image.member) : nil
                let digest = try reader.streamImage(image, into: tarCheck, limit: nil)
                try tarCheck?.finish()
                images.append(ImageReport(slotClass: image.slotClass, size: digest.size, sha256: digest.sha256))
            }
            let seconds = Date().timeIntervalSince(start)
            if json {
                printJSON(
                    Report(
                        bundle: bundle, verified: true, bundleHash: verified.bundleHash,
                        version: verified.manifest.version, compatible: verified.manifest.compatible,
                        signer: verified.signer?.subject ?? "", images: images, seconds: seconds))
                return
            }
            let total = images.reduce(0) { $0 + $1.size }
            print("verified \(bundle): \(verified.manifest.compatible) \(verified.manifest.version)")
            print("  signed by \(verified.signer?.subject ?? "?")")
            for image in images { print("  \(image.slotClass): \(formatBytes(image.size)) sha256 \(image.sha256)") }
            let rate = seconds > 0 ? Double(total) / seconds / 1_000_000 : 0
            print(
                "  \(formatBytes(total)) in \(fixedPoint(seconds, digits: 2)) s (\(fixedPoint(rate, digits: 0)) MB/s)")
        }
    }
}
