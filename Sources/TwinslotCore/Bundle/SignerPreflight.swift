import COpenSSL

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// What a builder can learn about a signer before signing with it. A bundle signed by a signer
/// no device can accept is worse than no bundle: it is found out only on the devices, each
/// refusing it. Some refusals do not depend on any keyring (expiry, the signer's own
/// extensions) and are told here; the rest need the devices' keyring (`check(against:)`).
public struct SignerFacts: Sendable, Equatable {
    public let subject: String
    public let issuer: String
    /// Subject and issuer are the same name: the signer can be its own trust anchor, so a
    /// keyring can hold it without intermediates.
    public var selfIssued: Bool { subject == issuer }
    /// Intermediates the signature will carry.
    public let carriedCertificates: Int
}

extension SigningIdentity {
    /// Refuses (untrusted, exit 11, as a device would) a signer that no keyring can ever make
    /// acceptable: expired at `time` (this machine's clock floored as a device floors it), or
    /// ruled out as a code signer by its own certificate (`SignatureVerifier`'s end-entity and
    /// key-usage rules: CA:TRUE, no basicConstraints, no codeSigning, no digitalSignature).
    public func checkUsable(at time: TrustTime = .device) throws -> SignerFacts {
        let cert = try OpenSSL.certificate(der: certificate)
        defer { X509_free(cert) }
        let subject = OpenSSL.subject(cert)
        let (now, floored) = time.resolve()
        if let notAfter = OpenSSL.date(X509_get0_notAfter(cert)), notAfter < now {
            throw SignatureError.expiredCertificate(
                subject: subject, notAfter: iso8601(notAfter),
                checkedAt: iso8601(now) + (floored ? " (twinslot's release time: the clock is behind it)" : ""))
        }
        try SignatureVerifier.checkSignerCertificate(cert)
        return SignerFacts(
            subject: subject, issuer: OpenSSL.name(X509_get_issuer_name(cert)), carriedCertificates: chain.count)
    }

    /// Verifies a signature made by this identity with the verifier `install` uses, against
    /// the keyring the devices hold: chain (through the carried intermediates), validity at
    /// the keyring's check time, revocation, key usages. Run before any image is compressed,
    /// on a probe signature: every rule but the content digest depends on the signer alone.
    public func check(against keyring: Keyring) throws -> SignerSummary {
        let probe = Array("twinslot signer check".utf8)
        return try SignatureVerifier.verify(signature: try sign(probe), content: probe, keyring: keyring)
    }
}
