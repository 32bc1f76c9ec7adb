import COpenSSL

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The device's trust anchors: a PEM file of one or more CA certificates. Kept as DER so the
/// value is Sendable; OpenSSL objects are made per verification and freed with it.
public struct Keyring: Sendable {
    public let certificates: [[UInt8]]
    public let source: String

    public init(contentsOf path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SignatureError.keyring(path: path, problem: "cannot read the file")
        }
        try self.init(pem: Array(data), source: path)
    }

    public init(pem: [UInt8], source: String = "keyring") throws {
        self.source = source
        certificates = try OpenSSL.readCertificatesAsDER(pem: pem)
        guard !certificates.isEmpty else {
            throw SignatureError.keyring(path: source, problem: "holds no PEM certificate")
        }
    }
}

/// Who signed a bundle, for status and reports.
public struct SignerSummary: Sendable, Equatable, Codable {
    public var subject: String
    public var issuer: String
    public var notAfter: String
    /// Certificates from the signer to the trust anchor, both included.
    public var chainLength: Int
}

/// A signer certificate, its private key and optional intermediates, as PEM files.
public struct SigningIdentity: Sendable {
    let certificate: [UInt8]
    let privateKey: [UInt8]
    let chain: [[UInt8]]

    public init(certificatePEM: String, privateKeyPEM: String, chainPEM: String?) throws {
        func read(_ path: String) throws -> [UInt8] {
            guard let data = FileManager.default.contents(atPath: path) else {
                throw SignatureError.signingIdentity(problem: "cannot read \(path)")
            }
            return Array(data)
        }
        guard let certDER = try OpenSSL.readCertificatesAsDER(pem: try read(certificatePEM)).first else {
            throw SignatureError.signingIdentity(problem: "\(certificatePEM) holds no PEM certificate")
        }
        let cert = try OpenSSL.certificate(der: certDER)
        defer { X509_free(cert) }
        let keyBytes = try read(privateKeyPEM)
        let key = try OpenSSL.readPrivateKey(pem: keyBytes, path: privateKeyPEM)
        defer { EVP_PKEY_free(key) }
        guard X509_check_private_key(cert, key) == 1 else {
            OpenSSL.clearErrors()
            throw SignatureError.signingIdentity(problem: "\(privateKeyPEM) is not the key of \(certificatePEM)")
        }
        certificate = certDER
        privateKey = keyBytes
        chain = try chainPEM.map { path in try OpenSSL.readCertificatesAsDER(pem: try read(path)) } ?? []
    }

    /// A detached CMS SignedData (DER) over `content`, as `openssl cms -sign -binary -outform DER`
    /// makes it, carrying the signer certificate and the intermediates.
    public func sign(_ content: [UInt8]) throws -> [UInt8] {
        OpenSSL.clearErrors()
        let cert = try OpenSSL.certificate(der: certificate)
        defer { X509_free(cert) }
        let key = try OpenSSL.readPrivateKey(pem: privateKey, path: "signing key")
        defer { EVP_PKEY_free(key) }
        let extra = ts_sk_X509_new_null()
        defer { ts_sk_X509_pop_free(extra) }
        for der in chain { _ = ts_sk_X509_push(extra, try OpenSSL.certificate(der: der)) }
        return try content.withUnsafeBytes { raw in
            let input = BIO_new_mem_buf(raw.baseAddress, Int32(raw.count))
            defer { BIO_free(input) }
            let flags = ts_CMS_BINARY | ts_CMS_DETACHED | ts_CMS_NOSMIMECAP
            guard let cms = CMS_sign(cert, key, extra, input, flags) else {
                throw SignatureError.signingIdentity(problem: "CMS_sign failed: \(OpenSSL.errors())")
            }
            defer { CMS_ContentInfo_free(cms) }
            let output = BIO_new(BIO_s_mem())
            defer { BIO_free(output) }
            guard i2d_CMS_bio(output, cms) == 1 else {
                throw SignatureError.signingIdentity(problem: "encoding the signature failed: \(OpenSSL.errors())")
            }
            return OpenSSL.bytes(of: output)
        }
    }
}

/// Checks a detached CMS signature over manifest bytes against a keyring: the signature itself,
/// the signer's chain to a trust anchor (through intermediates the signature carries), validity
/// periods, and the code-signing key usage.
public enum SignatureVerifier {
    public static func verify(signature: [UInt8], content: [UInt8], keyring: Keyring) throws -> SignerSummary {
        OpenSSL.clearErrors()
        defer { OpenSSL.clearErrors() }
        let cms: OpaquePointer = try signature.withUnsafeBytes { raw in
            let bio = BIO_new_mem_buf(raw.baseAddress, Int32(raw.count))
            defer { BIO_free(bio) }
            guard let cms = d2i_CMS_bio(bio, nil) else {
                throw SignatureError.malformed(detail: "not a DER CMS structure (\(OpenSSL.errors()))")
            }
            return cms
        }
        defer { CMS_ContentInfo_free(cms) }
        guard OBJ_obj2nid(CMS_get0_type(cms)) == NID_pkcs7_signed else {
            throw SignatureError.malformed(detail: "the CMS structure is not SignedData")
        }

        let store = X509_STORE_new()
        defer { X509_STORE_free(store) }
        for der in keyring.certificates {
            let cert = try OpenSSL.certificate(der: der)
            X509_STORE_add_cert(store, cert)
            X509_free(cert)
        }

        let signatureOK = content.withUnsafeBytes { raw -> Bool in
            let bio = BIO_new_mem_buf(raw.baseAddress, Int32(raw.count))
            defer { BIO_free(bio) }
            return CMS_verify(cms, nil, store, bio, nil, ts_CMS_BINARY | ts_CMS_NO_SIGNER_CERT_VERIFY) == 1
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
        // Only collision-resistant digests: an MD5 or SHA-1 signature can be replayed onto a
        // forged manifest with the same digest.
        if let infos = CMS_get0_SignerInfos(cms) {
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
        if X509_verify_cert(context) != 1 {
            let code = X509_STORE_CTX_get_error(context)
            let reason = String(cString: X509_verify_cert_error_string(Int(code)))
            let failing = X509_STORE_CTX_get_current_cert(context).map(OpenSSL.subject) ?? OpenSSL.subject(signer)
            switch code {
            case X509_V_ERR_CERT_HAS_EXPIRED:
                let notAfter = X509_STORE_CTX_get_current_cert(context).map(OpenSSL.notAfter) ?? "?"
                throw SignatureError.expiredCertificate(subject: failing, notAfter: notAfter)
            case X509_V_ERR_CERT_NOT_YET_VALID:
                throw SignatureError.notYetValid(subject: failing)
            case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT,
                X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN, X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT, X509_V_ERR_CERT_UNTRUSTED:
                throw SignatureError.untrustedSigner(subject: OpenSSL.subject(signer), reason: reason)
            default:
                throw SignatureError.invalidChain(subject: failing, reason: reason)
            }
        }
        let chain = X509_STORE_CTX_get0_chain(context)
        let chainLength = chain.map { Int(ts_sk_X509_num($0)) } ?? 1

        let flags = X509_get_extension_flags(signer)
        guard flags & UInt32(EXFLAG_XKUSAGE) != 0 else {
            throw SignatureError.wrongKeyUsage(
                subject: OpenSSL.subject(signer), detail: "it has no extended key usage; codeSigning is required")
        }
        guard X509_get_extended_key_usage(signer) & UInt32(XKU_CODE_SIGN) != 0 else {
            throw SignatureError.wrongKeyUsage(
                subject: OpenSSL.subject(signer), detail: "its extended key usage does not include codeSigning")
        }
        if flags & UInt32(EXFLAG_KUSAGE) != 0 && X509_get_key_usage(signer) & UInt32(KU_DIGITAL_SIGNATURE) == 0 {
            throw SignatureError.wrongKeyUsage(
                subject: OpenSSL.subject(signer), detail: "its key usage does not include digitalSignature")
        }
        return SignerSummary(
            subject: OpenSSL.subject(signer), issuer: OpenSSL.name(X509_get_issuer_name(signer)),
            notAfter: OpenSSL.notAfter(signer), chainLength: chainLength)
    }
}

public enum SignatureError: ClassifiedError, Equatable {
    case malformed(detail: String)
    case contentMismatch
    case untrustedSigner(subject: String, reason: String)
    case expiredCertificate(subject: String, notAfter: String)
    case notYetValid(subject: String)
    case invalidChain(subject: String, reason: String)
    case wrongKeyUsage(subject: String, detail: String)
    case weakDigest(String)
    case keyring(path: String, problem: String)
    case signingIdentity(problem: String)

    public var failureClass: FailureClass {
        switch self {
        case .keyring, .signingIdentity: .config
        default: .untrusted
        }
    }

    public var description: String {
        switch self {
        case .malformed(let detail): "manifest.sig is not a valid CMS signature: \(detail)"
        case .contentMismatch: "the signature does not match the manifest bytes (manifest or signature altered)"
        case .untrustedSigner(let subject, let reason):
            "signer '\(subject)' does not chain to a certificate in the keyring: \(reason)"
        case .expiredCertificate(let subject, let notAfter): "certificate '\(subject)' expired on \(notAfter)"
        case .notYetValid(let subject): "certificate '\(subject)' is not valid yet (check the device clock)"
        case .invalidChain(let subject, let reason): "certificate chain rejected at '\(subject)': \(reason)"
        case .wrongKeyUsage(let subject, let detail): "signer '\(subject)' may not sign code: \(detail)"
        case .weakDigest(let name): "the signature uses the digest \(name); SHA-256, SHA-384 or SHA-512 is required"
        case .keyring(let path, let problem): "keyring \(path) \(problem)"
        case .signingIdentity(let problem): "cannot sign: \(problem)"
        }
    }
}

/// Small helpers over libcrypto; every object they return is owned by the caller.
enum OpenSSL {
    static func clearErrors() { ERR_clear_error() }

    /// OpenSSL's error queue as one line, emptied.
    static func errors() -> String {
        var parts: [String] = []
        while true {
            let code = ERR_get_error()
            if code == 0 { break }
            var buffer = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &buffer, buffer.count)
            parts.append(String(cString: buffer))
        }
        return parts.isEmpty ? "unknown OpenSSL error" : parts.joined(separator: "; ")
    }

    static func bytes(of bio: OpaquePointer?) -> [UInt8] {
        var pointer: UnsafeMutablePointer<CChar>?
        let length = ts_BIO_get_mem_data(bio, &pointer)
        guard let pointer, length > 0 else { return [] }
        return Array(UnsafeRawBufferPointer(start: pointer, count: Int(length)))
    }

    static func readCertificatesAsDER(pem: [UInt8]) throws -> [[UInt8]] {
        try pem.withUnsafeBytes { raw in
            let bio = BIO_new_mem_buf(raw.baseAddress, Int32(raw.count))
            defer { BIO_free(bio) }
            var result: [[UInt8]] = []
            while let cert = PEM_read_bio_X509(bio, nil, nil, nil) {
                defer { X509_free(cert) }
                result.append(try der(cert))
            }
            clearErrors()  // the loop ends on a "no start line" error
            return result
        }
    }

    static func readPrivateKey(pem: [UInt8], path: String) throws -> OpaquePointer {
        try pem.withUnsafeBytes { raw in
            let bio = BIO_new_mem_buf(raw.baseAddress, Int32(raw.count))
            defer { BIO_free(bio) }
            guard let key = PEM_read_bio_PrivateKey(bio, nil, nil, nil) else {
                throw SignatureError.signingIdentity(problem: "\(path) holds no readable private key (\(errors()))")
            }
            return key
        }
    }

    static func der(_ cert: OpaquePointer) throws -> [UInt8] {
        var pointer: UnsafeMutablePointer<UInt8>?
        let length = i2d_X509(cert, &pointer)
        guard length > 0, let pointer else { throw SignatureError.malformed(detail: "cannot encode a certificate") }
        defer { ts_OPENSSL_free(pointer) }
        return Array(UnsafeBufferPointer(start: pointer, count: Int(length)))
    }

    static func certificate(der: [UInt8]) throws -> OpaquePointer {
        try der.withUnsafeBufferPointer { buffer in
            var pointer: UnsafePointer<UInt8>? = buffer.baseAddress
            guard let cert = d2i_X509(nil, &pointer, buffer.count) else {
                throw SignatureError.malformed(detail: "cannot decode a certificate")
            }
            return cert
        }
    }

    static func name(_ name: OpaquePointer?) -> String {
        let bio = BIO_new(BIO_s_mem())
        defer { BIO_free(bio) }
        X509_NAME_print_ex(bio, name, 0, ts_XN_FLAG_RFC2253)
        return String(decoding: bytes(of: bio), as: UTF8.self)
    }

    static func subject(_ cert: OpaquePointer) -> String { name(X509_get_subject_name(cert)) }

    static func notAfter(_ cert: OpaquePointer) -> String {
        var time = tm()
        guard let asn1 = X509_get0_notAfter(cert), ASN1_TIME_to_tm(asn1, &time) == 1 else { return "?" }
        let date = Date(timeIntervalSince1970: TimeInterval(timegm(&time)))
        return iso8601(date)
    }
}
