import ArgumentParser
import TwinslotCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

struct BundleExtractCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "extract",
        abstract: "Write a bundle's verified images into a directory.",
        discussion: """
            Each image is written as DIR/<member without .zst> (rootfs.img, apps.tar) and appears \
            under that name only after its hashes matched; manifest.json is written last. Nothing \
            is written outside DIR.
            """
    )

    @Argument(help: "The bundle file.") var bundle: String
    @Option(help: "PEM bundle of trusted CA certificates.") var keyring: String
    @Option(name: .customLong("dir"), help: "The directory to write into (created if missing).") var directory: String
    @Flag(help: "Print JSON.") var json = false

    struct Report: Encodable {
        var slotClass: String
        var path: String
        var size: UInt64
        var sha256: String
    }

    func run() throws {
        try reportingFailures(json: json) {
            let ring = try Keyring(contentsOf: keyring)
            let extracted = try BundleExtractor.extract(bundle: bundle, keyring: ring, into: directory)
            if json {
                printJSON(
                    extracted.map {
                        Report(slotClass: $0.slotClass, path: $0.path, size: $0.digest.size, sha256: $0.digest.sha256)
                    })
                return
            }
            for item in extracted { print("\(item.slotClass): \(item.path) (\(formatBytes(item.digest.size)))") }
        }
    }
}
