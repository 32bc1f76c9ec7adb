import COpenSSL

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The device's trust anchors: a PEM file of one or more CA certificates and, optionally, the
/// CRLs of their PKI. Kept as DER so the value is Sendable; OpenSSL objects are made per
/// verification and freed with it.
public struct Keyring: Sendable {
    public let certificates: [[UInt8]]
    /// The `X509 CRL` blocks of the file. When there is at least one, revocation is checked for
    /// every certificate of a signer's chain, and one whose issuer has no CRL here is refused:
    /// the CRLs a fleet ships are what it relies on, so they are never ignored (RAUC's
    /// `check-crl = true`, switched on by their presence; docs/bundle-format.md).
    public let revocationLists: [[UInt8]]
    public let source: String
    /// When certificates and CRLs are checked: the device clock floored at the running image's
    /// build time or the newest CRL's last update, whichever is later, unless a test moves it.
    public var time: TrustTime

    public init(contentsOf path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            let exists = FileManager.default.fileExists(atPath: path)
            throw SignatureError.keyring(path: path, problem: exists ? "cannot be read" : "does not exist")
        }
        try self.init(pem: Array(data), source: path)
    }

    public init(pem: [UInt8], source: String = "keyring") throws {
        self.source = source
        (certificates, revocationLists) = try OpenSSL.readKeyring(pem: pem, source: source)
        guard !certificates.isEmpty else {
            throw SignatureError.keyring(path: source, problem: "holds no PEM certificate")
        }
        // A CRL's last update is a time its CA signed as past: the present is at least that, so
        // a clock behind it never finds the keyring's own CRLs "not valid yet".
        let issued = try revocationLists.compactMap { der -> Date? in
            let crl = try OpenSSL.revocationList(der: der, source: source)
            defer { X509_CRL_free(crl) }
            return OpenSSL.date(X509_CRL_get0_lastUpdate(crl))
        }
        time = TrustTime(floor: max(TrustTime.imageBuildTime(), issued.max() ?? .distantPast))
    }

    /// A new store of the trust anchors and CRLs; the caller frees it.
    func makeStore() throws -> OpaquePointer {
        guard let store = X509_STORE_new() else { fatalError("X509_STORE_new: out of memory") }
        do {
            for der in certificates {
                let cert = try OpenSSL.certificate(der: der)
                defer { X509_free(cert) }
                X509_STORE_add_cert(store, cert)
            }
            for der in revocationLists {
                let crl = try OpenSSL.revocationList(der: der, source: source)
                defer { X509_CRL_free(crl) }
                X509_STORE_add_crl(store, crl)
            }
        } catch {
            X509_STORE_free(store)
            throw error
        }
        return store
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

/// Why a signature or keyring was refused. Everything about `manifest.sig` and the certificates
/// is untrusted (exit 11), malformed DER included: a signature that cannot be read vouches for
/// nothing, and a script reacts to every such case alike (do not install, ask who signed it);
/// a keyring or signing key that cannot be used is the device's or builder's configuration (17).
public enum SignatureError: ClassifiedError, Equatable {
    case malformed(detail: String)
    case attached
    case trailingBytes(count: Int)
    case contentMismatch
    case untrustedSigner(subject: String, reason: String)
    case expiredCertificate(subject: String, notAfter: String, checkedAt: String)
    case notYetValid(subject: String, checkedAt: String)
    case invalidChain(subject: String, reason: String)
    case revoked(subject: String, serial: String)
    case revocationUnknown(subject: String, reason: String)
    case notAnEndEntity(subject: String, detail: String)
    case wrongKeyUsage(subject: String, detail: String)
    case chainKeyUsage(subject: String, detail: String)
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
        case .attached:
            "manifest.sig is an attached signature (it embeds content); a detached signature over manifest.json is required"
        case .trailingBytes(let count):
            "manifest.sig has \(count) trailing byte\(count == 1 ? "" : "s") after its DER structure"
        case .contentMismatch: "the signature does not match the manifest bytes (manifest or signature altered)"
        case .untrustedSigner(let subject, let reason):
            "signer '\(subject)' does not chain to a certificate in the keyring: \(reason)"
        case .expiredCertificate(let subject, let notAfter, let checkedAt):
            "certificate '\(subject)' expired on \(notAfter) (checked at \(checkedAt))"
        case .notYetValid(let subject, let checkedAt):
            "certificate '\(subject)' is not valid yet at \(checkedAt) (check the device clock)"
        case .invalidChain(let subject, let reason): "certificate chain rejected at '\(subject)': \(reason)"
        case .revoked(let subject, let serial):
            "certificate '\(subject)' (serial \(serial)) is revoked by a CRL of the keyring"
        case .revocationUnknown(let subject, let reason):
            "cannot tell whether certificate '\(subject)' is revoked: \(reason)"
        case .notAnEndEntity(let subject, let detail): "signer '\(subject)' is not an end-entity certificate: \(detail)"
        case .wrongKeyUsage(let subject, let detail): "signer '\(subject)' may not sign code: \(detail)"
        case .chainKeyUsage(let subject, let detail):
            "CA '\(subject)' of the signer's chain may not vouch for code signing: \(detail)"
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

    /// The certificates and CRLs of a keyring PEM, as DER. Other blocks are skipped; a block
    /// that cannot be decoded is refused, since skipping a damaged CRL would turn revocation off.
    static func readKeyring(pem: [UInt8], source: String) throws -> (certificates: [[UInt8]], crls: [[UInt8]]) {
        try pem.withUnsafeBytes { raw in
            let bio = BIO_new_mem_buf(raw.baseAddress, Int32(raw.count))
            defer { BIO_free(bio) }
            var certificates: [[UInt8]] = []
            var crls: [[UInt8]] = []
            while true {
                var name: UnsafeMutablePointer<CChar>?
                var header: UnsafeMutablePointer<CChar>?
                var data: UnsafeMutablePointer<UInt8>?
                var length = 0
                guard PEM_read_bio(bio, &name, &header, &data, &length) == 1 else {
                    if ts_pem_error_is_end() == 1 { break }
                    let reason = errors()
                    throw SignatureError.keyring(path: source, problem: "holds a damaged PEM block (\(reason))")
                }
                defer {
                    ts_OPENSSL_free(name)
                    ts_OPENSSL_free(header)
                    ts_OPENSSL_free(data)
                }
                let label = name.map { String(cString: $0) } ?? ""
                let der = data.map { Array(UnsafeBufferPointer(start: $0, count: length)) } ?? []
                switch label {
                case "CERTIFICATE", "X509 CERTIFICATE":
                    X509_free(try certificate(der: der))
                    certificates.append(der)
                case "X509 CRL":
                    X509_CRL_free(try revocationList(der: der, source: source))
                    crls.append(der)
                default: continue
                }
            }
            clearErrors()  // the loop ends on a "no start line" error
            return (certificates, crls)
        }
    }

    static func revocationList(der: [UInt8], source: String) throws -> OpaquePointer {
        try der.withUnsafeBufferPointer { buffer in
            var pointer: UnsafePointer<UInt8>? = buffer.baseAddress
            guard let crl = d2i_X509_CRL(nil, &pointer, buffer.count), pointer == buffer.baseAddress! + buffer.count
            else {
                throw SignatureError.keyring(path: source, problem: "holds an X509 CRL block that is not a CRL")
            }
            return crl
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

    /// The serial number in hex, as `openssl x509 -serial` prints it.
    static func serial(_ cert: OpaquePointer) -> String {
        guard let number = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nil) else { return "?" }
        defer { BN_free(number) }
        guard let hex = BN_bn2hex(number) else { return "?" }
        defer { ts_OPENSSL_free(hex) }
        return String(cString: hex)
    }

    static func notAfter(_ cert: OpaquePointer) -> String { date(X509_get0_notAfter(cert)).map(iso8601) ?? "?" }

    static func date(_ asn1: UnsafePointer<ASN1_TIME>?) -> Date? {
        var time = tm()
        guard let asn1, ASN1_TIME_to_tm(asn1, &time) == 1 else { return nil }
        return Date(timeIntervalSince1970: TimeInterval(timegm(&time)))
    }
}
