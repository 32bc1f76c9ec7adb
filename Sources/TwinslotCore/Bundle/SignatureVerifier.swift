import COpenSSL

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Checks a detached CMS signature over manifest bytes against a keyring: the signature's
/// structure, the signature itself, the signer's chain to a trust anchor (through intermediates
/// the signature carries) at the keyring's `TrustTime`, revocation when the keyring carries CRLs,
/// and what the chain's certificates may be used for. docs/bundle-format.md lists the rules;
/// every refusal is `SignatureError` (untrusted, exit 11).
public enum SignatureVerifier {
    public static func verify(signature: [UInt8], content: [UInt8], keyring: Keyring) throws -> SignerSummary {
        OpenSSL.clearErrors()
        defer { OpenSSL.clearErrors() }
        let cms = try decode(signature)
        defer { CMS_ContentInfo_free(cms) }
        guard OBJ_obj2nid(CMS_get0_type(cms)) == NID_pkcs7_signed else {
            throw SignatureError.malformed(detail: "the CMS structure is not SignedData")
        }
        // The content a device acts on is the manifest member it read and will check the images
        // against. An attached signature carries a second copy; even when the copies agree today,
        // accepting one invites a reader that takes the embedded copy, so only detached passes.
        guard CMS_is_detached(cms) == 1 else { throw SignatureError.attached }

        let store = try keyring.makeStore()
        defer { X509_STORE_free(store) }
        let signatureOK = content.withUnsafeBytes { raw -> Bool in
            // The content reaches CMS_verify through a null filter in front of the memory BIO:
            // handed a memory BIO itself, OpenSSL 3.0 copies it into a second one that it never
            // frees when the signature's digest cannot be set up (a leak per refused bundle,
            // found by the `bundle` fuzz target). Through the filter it reads ours, which is
            // freed here, whatever the outcome.
            guard let memory = BIO_new_mem_buf(raw.baseAddress, Int32(raw.count)) else {
                fatalError("BIO_new_mem_buf: out of memory")
            }
            guard let filter = BIO_new(BIO_f_null()) else { fatalError("BIO_new: out of memory") }
            let chain = BIO_push(filter, memory)
            defer { BIO_free_all(chain) }
            return CMS_verify(cms, nil, store, chain, nil, ts_CMS_BINARY | ts_CMS_NO_SIGNER_CERT_VERIFY) == 1
        }
        guard signatureOK else {
            let reason = OpenSSL.errors()
            if reason.contains("verification failure") || reason.contains("content verify error")
                || reason.contains("digest")
            {
                throw SignatureError.contentMismatch
            }
            throw SignatureError.malformed(detail: reason)
        }
        try checkDigests(cms)
        guard let signers = CMS_get0_signers(cms) else {
            throw SignatureError.malformed(detail: "no signer certificate in the signature")
        }
        defer { ts_sk_X509_free(signers) }
        guard ts_sk_X509_num(signers) == 1, let signer = ts_sk_X509_value(signers, 0) else {
            throw SignatureError.malformed(detail: "exactly one signer is required, found \(ts_sk_X509_num(signers))")
        }

        let carried = CMS_get1_certs(cms)
        defer { if let carried { ts_sk_X509_pop_free(carried) } }
        guard let context = X509_STORE_CTX_new() else { fatalError("X509_STORE_CTX_new: out of memory") }
        defer { X509_STORE_CTX_free(context) }
        guard X509_STORE_CTX_init(context, store, signer, carried) == 1 else {
            throw SignatureError.malformed(detail: OpenSSL.errors())
        }
        try verifyChain(context, signer: signer, keyring: keyring)
        guard let chain = X509_STORE_CTX_get0_chain(context) else {
            throw SignatureError.malformed(detail: "OpenSSL verified no chain")
        }
        try checkSignerCertificate(signer)
        for index in 1..<max(1, ts_sk_X509_num(chain)) {
            if let ca = ts_sk_X509_value(chain, index) { try checkCertificationAuthority(ca) }
        }
        return SignerSummary(
            subject: OpenSSL.subject(signer), issuer: OpenSSL.name(X509_get_issuer_name(signer)),
            notAfter: OpenSSL.notAfter(signer), chainLength: Int(ts_sk_X509_num(chain)))
    }

    /// Exactly one DER object: `d2i_CMS_bio` stops after the first one and ignores the rest, so
    /// trailing bytes (a second signature, data smuggled after it) would ride along unsigned.
    static func decode(_ signature: [UInt8]) throws -> OpaquePointer {
        try signature.withUnsafeBufferPointer { buffer in
            var cursor: UnsafePointer<UInt8>? = buffer.baseAddress
            guard let start = buffer.baseAddress, let cms = d2i_CMS_ContentInfo(nil, &cursor, buffer.count),
                let end = cursor
            else {
                throw SignatureError.malformed(detail: "not a DER CMS structure (\(OpenSSL.errors()))")
            }
            let consumed = end - start
            guard consumed == buffer.count else {
                CMS_ContentInfo_free(cms)
                throw SignatureError.trailingBytes(count: buffer.count - consumed)
            }
            return cms
        }
    }

    /// Only collision-resistant digests: an MD5 or SHA-1 signature can be replayed onto a
    /// forged manifest with the same digest.
    static func checkDigests(_ cms: OpaquePointer) throws {
        guard let infos = CMS_get0_SignerInfos(cms) else { return }
        for index in 0..<ts_sk_CMS_SignerInfo_num(infos) {
            var digest: UnsafeMutablePointer<X509_ALGOR>?
            CMS_SignerInfo_get0_algs(ts_sk_CMS_SignerInfo_value(infos, index), nil, nil, &digest, nil)
            var object: OpaquePointer?
            X509_ALGOR_get0(&object, nil, nil, digest)
            let nid = OBJ_obj2nid(object)
            guard [NID_sha256, NID_sha384, NID_sha512].contains(nid) else {
                let name = OBJ_nid2sn(nid).map { String(cString: $0) } ?? "unknown"
                throw SignatureError.weakDigest(name)
            }
        }
    }

    /// Builds and checks the chain at the keyring's trust time; with CRLs in the keyring, every
    /// certificate of the chain is checked for revocation (RAUC's `check-crl`).
    static func verifyChain(_ context: OpaquePointer, signer: OpaquePointer, keyring: Keyring) throws {
        let (time, floored) = keyring.time.resolve()
        let checkedAt = iso8601(time) + (floored ? " (the running image's build time: the clock is behind it)" : "")
        let parameters = X509_STORE_CTX_get0_param(context)
        X509_VERIFY_PARAM_set_time(parameters, time_t(time.timeIntervalSince1970))
        if !keyring.revocationLists.isEmpty { X509_VERIFY_PARAM_set_flags(parameters, ts_X509_V_FLAG_CRL_CHECK_CHAIN) }
        guard X509_verify_cert(context) != 1 else { return }
        let code = X509_STORE_CTX_get_error(context)
        let reason = String(cString: X509_verify_cert_error_string(Int(code)))
        let current = X509_STORE_CTX_get_current_cert(context)
        let failing = current.map(OpenSSL.subject) ?? OpenSSL.subject(signer)
        switch code {
        case X509_V_ERR_CERT_HAS_EXPIRED:
            let notAfter = current.map(OpenSSL.notAfter) ?? "?"
            throw SignatureError.expiredCertificate(subject: failing, notAfter: notAfter, checkedAt: checkedAt)
        case X509_V_ERR_CERT_NOT_YET_VALID:
            throw SignatureError.notYetValid(subject: failing, checkedAt: checkedAt)
        case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT,
            X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN, X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT, X509_V_ERR_CERT_UNTRUSTED:
            throw SignatureError.untrustedSigner(subject: OpenSSL.subject(signer), reason: reason)
        case X509_V_ERR_CERT_REVOKED:
            throw SignatureError.revoked(subject: failing, serial: current.map(OpenSSL.serial) ?? "?")
        case X509_V_ERR_UNABLE_TO_GET_CRL:
            let issuer = current.map { OpenSSL.name(X509_get_issuer_name($0)) } ?? "?"
            throw SignatureError.revocationUnknown(
                subject: failing, reason: "the keyring carries CRLs but no CRL from its issuer '\(issuer)'")
        case X509_V_ERR_CRL_HAS_EXPIRED, X509_V_ERR_CRL_NOT_YET_VALID:
            let issuer = current.map { OpenSSL.name(X509_get_issuer_name($0)) } ?? "?"
            throw SignatureError.revocationUnknown(
                subject: failing,
                reason: "the keyring's CRL from its issuer '\(issuer)' is unusable: \(reason) at \(checkedAt)")
        default:
            throw SignatureError.invalidChain(subject: failing, reason: reason)
        }
    }

    /// The signer must be an end entity (basicConstraints present and CA:FALSE: a CA's key
    /// signs certificates, and one without the extension leaves that to each verifier's guess),
    /// allowed to sign code (extendedKeyUsage codeSigning) and, if it restricts its key usage,
    /// to make digital signatures.
    static func checkSignerCertificate(_ signer: OpaquePointer) throws {
        let subject = OpenSSL.subject(signer)
        let flags = X509_get_extension_flags(signer)
        guard flags & UInt32(EXFLAG_BCONS) != 0 else {
            throw SignatureError.notAnEndEntity(
                subject: subject, detail: "it has no basicConstraints extension; CA:FALSE is required")
        }
        guard flags & UInt32(EXFLAG_CA) == 0 else {
            throw SignatureError.notAnEndEntity(
                subject: subject, detail: "its basicConstraints say CA:TRUE; a signer must be CA:FALSE")
        }
        guard flags & UInt32(EXFLAG_XKUSAGE) != 0 else {
            throw SignatureError.wrongKeyUsage(
                subject: subject, detail: "it has no extended key usage; codeSigning is required")
        }
        guard X509_get_extended_key_usage(signer) & UInt32(XKU_CODE_SIGN) != 0 else {
            throw SignatureError.wrongKeyUsage(
                subject: subject, detail: "its extended key usage does not include codeSigning")
        }
        if flags & UInt32(EXFLAG_KUSAGE) != 0 && X509_get_key_usage(signer) & UInt32(KU_DIGITAL_SIGNATURE) == 0 {
            throw SignatureError.wrongKeyUsage(
                subject: subject, detail: "its key usage does not include digitalSignature")
        }
    }

    /// As RAUC's codesign purpose: a CA of the chain (the trust anchor included) that restricts
    /// its extended key usage must allow codeSigning, since it vouches only for those uses.
    /// anyExtendedKeyUsage does not count, as in RAUC (OpenSSL does not set codeSigning for it).
    static func checkCertificationAuthority(_ ca: OpaquePointer) throws {
        guard X509_get_extension_flags(ca) & UInt32(EXFLAG_XKUSAGE) != 0 else { return }
        guard X509_get_extended_key_usage(ca) & UInt32(XKU_CODE_SIGN) != 0 else {
            throw SignatureError.chainKeyUsage(
                subject: OpenSSL.subject(ca), detail: "its extended key usage does not include codeSigning")
        }
    }
}
