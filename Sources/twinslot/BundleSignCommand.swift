import ArgumentParser
import TwinslotCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

struct BundleSignCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sign",
        abstract: "Add a signature to a bundle (the second step of external signing).",
        discussion: """
            With --signature, FILE is a detached CMS signature (DER) over the bundle's exact \
            manifest.json bytes, as 'openssl cms -sign -binary -outform DER' makes it. With \
            --cert/--key, twinslot signs itself. Either way an existing signature is replaced.
            """
    )

    @Argument(help: "The bundle to sign.") var bundle: String
    @Option(help: "Where to write the signed bundle.") var out: String
    @Option(help: "A detached DER CMS signature over manifest.json.") var signature: String?
    @Option(help: "The signer certificate (PEM).") var cert: String?
    @Option(help: "The signer's private key (PEM).") var key: String?
    @Option(help: "Intermediate certificates to carry in the signature (PEM).") var chain: String?
    @Option(help: "Check the signature against this keyring before writing.") var keyring: String?

    func validate() throws {
        if (signature == nil) == (cert == nil || key == nil) {
            throw ValidationError("give either --signature FILE or --cert and --key")
        }
    }

    func run() throws {
        try reportingFailures {
            let signatureBytes: [UInt8]
            if let signature {
                guard let data = FileManager.default.contents(atPath: signature) else {
                    let exists = FileManager.default.fileExists(atPath: signature)
                    throw CommandFailure(
                        .io, "cannot read the signature \(signature): \(exists ? "unreadable" : "no such file")")
                }
                signatureBytes = Array(data)
            } else {
                let identity = try SigningIdentity(certificatePEM: cert!, privateKeyPEM: key!, chainPEM: chain)
                try checkSigner(identity, keyring: keyring)
                signatureBytes = try identity.sign(try BundleSigner.manifestBytes(of: bundle))
            }
            let ring = try keyring.map { try Keyring(contentsOf: $0) }
            try BundleSigner.sign(unsigned: bundle, signature: signatureBytes, keyring: ring, output: out)
            print("signed \(out)" + (keyring != nil ? " (signature verified against \(keyring!))" : ""))
        }
    }
}
