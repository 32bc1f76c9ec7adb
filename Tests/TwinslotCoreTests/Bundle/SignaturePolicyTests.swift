import Foundation
import Testing

@testable import TwinslotCore

/// Issue 13, the CMS part: signatures and certificates a device must refuse although OpenSSL's
/// defaults accept them. The hostile certificates come from scripts/make-test-pki.sh (the real
/// openssl CLI, at test time); each refusal is untrusted (exit 11) and names what it refused.
@Suite struct SignaturePolicyTests {
    let parts: BundleParts

    init() throws { parts = try BundleParts.make() }

    /// Verifies the test bundle with its signature replaced, as `bundle verify` does.
    func verify(signature: [UInt8], keyring: String = "keyring") throws -> (any Error)? {
        var copy = parts
        copy.signature = signature
        return verifyError(parts.write(copy.builder.bytes()), keyring: try Fixtures.keyring(keyring))
    }

    /// Verifies the test bundle re-signed by `signer` (with its chain) against `keyring`.
    func verify(signer: String, keyring: String = "keyring") throws -> (any Error)? {
        try verify(signature: try Fixtures.signer(signer).sign(parts.manifest), keyring: keyring)
    }

    /// The manifest signed by the openssl CLI, with extra `options`.
    func opensslSignature(signer: String = "signer", options: [String] = []) throws -> [UInt8] {
        let pki = try Fixtures.pki()
        let directory = Fixtures.temporaryDirectory("cms")
        Fixtures.write(parts.manifest, to: directory + "/manifest.json")
        let result = try Fixtures.run(
            "/usr/bin/openssl",
            [
                "cms", "-sign", "-binary", "-outform", "DER", "-in", directory + "/manifest.json", "-signer",
                pki + "/\(signer).pem", "-inkey", pki + "/\(signer).key", "-certfile", pki + "/signer-chain.pem",
                "-out", directory + "/manifest.sig",
            ] + options)
        guard result.status == 0 else { throw FixtureError("openssl cms -sign: \(result.stderr)") }
        return Fixtures.read(directory + "/manifest.sig")
    }

    func expectRefused(
        _ error: (any Error)?, mentioning words: [String], sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let text = error.map { "\($0)" } ?? "accepted"
        #expect(
            (error as? any ClassifiedError)?.failureClass == .untrusted, "\(text)", sourceLocation: sourceLocation)
        for word in words { #expect(text.contains(word), "\(text)", sourceLocation: sourceLocation) }
    }

    // MARK: The signature's structure

    @Test func detachedSignatureFromTheOpenSSLCommandLineVerifies() throws {
        #expect(try verify(signature: try opensslSignature()) == nil)
    }

    /// An attached SignedData carries its own copy of the content: whatever it holds, the manifest
    /// a device acts on must be the member it read, so only a detached signature is accepted.
    @Test func attachedSignatureIsRefusedEvenWhenItsContentIsTheManifest() throws {
        expectRefused(try verify(signature: try opensslSignature(options: ["-nodetach"])), mentioning: ["attached"])
    }

    /// A DER signature is one ASN.1 object: bytes after it are not covered by anything.
    @Test(arguments: [[0x00], [0x00, 0x00], [0x30, 0x00], Array("trailer".utf8)] as [[UInt8]])
    func signatureWithTrailingBytesIsRefused(trailer: [UInt8]) throws {
        let signature = try Fixtures.signer().sign(parts.manifest)
        expectRefused(try verify(signature: signature + trailer), mentioning: ["\(trailer.count) trailing byte"])
    }

    @Test func twoConcatenatedSignaturesAreRefused() throws {
        let signature = try Fixtures.signer().sign(parts.manifest)
        expectRefused(try verify(signature: signature + signature), mentioning: ["trailing"])
    }

    // MARK: The signer certificate

    @Test func signerCertificateThatIsACAIsRefused() throws {
        expectRefused(try verify(signer: "ca-signer"), mentioning: ["CN=twinslot CA Signer", "CA:TRUE"])
    }

    @Test func signerCertificateWithoutBasicConstraintsIsRefused() throws {
        expectRefused(
            try verify(signer: "no-bc-signer"),
            mentioning: ["CN=twinslot Signer Without Basic Constraints", "basicConstraints"])
    }

    // MARK: The CAs of the chain

    /// As RAUC's codesign purpose: a CA that restricts its extended key usage must allow
    /// codeSigning; anyExtendedKeyUsage does not count (OpenSSL does not set codeSigning for it).
    @Test(arguments: ["server", "any"])
    func intermediateWhoseExtendedKeyUsageLacksCodeSigningIsRefused(eku: String) throws {
        expectRefused(
            try verify(signer: "\(eku)-eku-signer"),
            mentioning: ["CN=twinslot Intermediate CA EKU \(eku)", "codeSigning"])
    }

    @Test func intermediateWhoseExtendedKeyUsageIncludesCodeSigningIsAccepted() throws {
        #expect(try verify(signer: "codesign-eku-signer") == nil)
    }

    // MARK: Revocation

    @Test func unrevokedSignerVerifiesAgainstAKeyringWithCRLs() throws {
        #expect(try verify(signer: "signer", keyring: "crl-keyring") == nil)
    }

    @Test func revokedSignerIsRefused() throws {
        expectRefused(
            try verify(signer: "revoked-signer", keyring: "crl-keyring"),
            mentioning: ["CN=twinslot Revoked Signer", "revoked"])
    }

    @Test func revokedIntermediateIsRefused() throws {
        expectRefused(
            try verify(signer: "revoked-intermediate-signer", keyring: "crl-keyring"),
            mentioning: ["CN=twinslot Revoked Intermediate CA", "revoked"])
    }

    /// RAUC's `check-crl = true`: once a keyring carries CRLs, a certificate whose issuer has no
    /// CRL in it cannot be shown unrevoked, and is refused.
    @Test func certificateWithoutACRLFromItsIssuerIsRefused() throws {
        expectRefused(
            try verify(signer: "signer", keyring: "partial-crl-keyring"),
            mentioning: ["CN=twinslot Test Signer", "no CRL", "CN=twinslot Test Intermediate CA"])
    }

    /// A keyring without CRLs checks no revocation (docs/bundle-format.md): a revoked signer
    /// passes, which is why a fleet that revokes ships its CRLs in the keyring.
    @Test func keyringWithoutCRLsChecksNoRevocation() throws {
        #expect(try verify(signer: "revoked-signer", keyring: "keyring") == nil)
    }

    /// A CRL that cannot be read must not be skipped: that would switch revocation off.
    @Test(arguments: ["damaged-base64", "not-a-crl"])
    func damagedCRLInTheKeyringIsAConfigurationError(damage: String) throws {
        let pki = try Fixtures.pki()
        let root = Fixtures.read(pki + "/root-ca.pem")
        var crl = String(decoding: Fixtures.read(pki + "/intermediate.crl.pem"), as: UTF8.self)
        switch damage {
        case "damaged-base64":
            let lines = crl.split(separator: "\n", omittingEmptySubsequences: false)
            crl = ([lines[0], "!!!!" + lines[1].dropFirst(4)] + lines[2...]).joined(separator: "\n")
        default:
            let body = Data("this is not a CRL".utf8).base64EncodedString()
            crl = "-----BEGIN X509 CRL-----\n\(body)\n-----END X509 CRL-----\n"
        }
        do {
            _ = try Keyring(pem: root + Array(crl.utf8), source: "test-keyring")
            Issue.record("a keyring with a damaged CRL was accepted")
        } catch let error as SignatureError {
            #expect(error.failureClass == .config)
            #expect("\(error)".contains("test-keyring"))
        }
    }
}
