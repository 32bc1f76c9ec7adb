import Foundation
import Testing

@testable import TwinslotCore

/// The no-RTC policy (docs/bundle-format.md): certificates and CRLs are checked at the newest of
/// the device clock and the running image's build time. The clock is simulated through
/// `TrustTime` (X509_VERIFY_PARAM_set_time), never by changing the system clock.
@Suite struct TrustTimeTests {
    let manifest: [UInt8] = Array("{\"signed\" : \"bytes\"}\n".utf8)

    /// The test PKI is made first, so that a `Date()` a test takes is after its CAs' start.
    init() throws { _ = try Fixtures.pki() }

    func verify(signer: String = "signer", keyring: String = "keyring", time: TrustTime) throws -> (any Error)? {
        var ring = try Fixtures.keyring(keyring)
        ring.time = time
        let signature = try Fixtures.signer(signer).sign(manifest)
        do {
            _ = try SignatureVerifier.verify(signature: signature, content: manifest, keyring: ring)
            return nil
        } catch {
            return error
        }
    }

    static let epoch = Date(timeIntervalSince1970: 0)
    /// Inside the expired signer's validity (2020-01-01 to 2021-01-01).
    static let mid2020 = Date(timeIntervalSince1970: 1_590_969_600)

    /// A board whose clock reset to 1970: without the floor every signer is "not valid yet".
    @Test func clockResetTo1970VerifiesAtTheImageBuildTime() throws {
        let floored = try verify(time: TrustTime(clock: Self.epoch, floor: Date()))
        #expect(floored == nil, "\(String(describing: floored))")
        let unfloored = try verify(time: TrustTime(clock: Self.epoch, floor: Self.epoch))
        guard case .notYetValid = unfloored as? SignatureError else {
            Issue.record("got \(String(describing: unfloored))")
            return
        }
    }

    /// The lenient failure the floor prevents: a clock that lands inside an expired signer's
    /// validity (reset, set back, or a signing-time attribute) must not revive the signer.
    @Test func expiredSignerIsRefusedWhenTheClockIsBehindTheFloor() throws {
        for clock in [Self.epoch, Self.mid2020] {
            // The image was built now, after the test PKI's CAs were made.
            let error = try verify(signer: "expired-signer", time: TrustTime(clock: clock, floor: Date()))
            guard case .expiredCertificate(_, _, let checkedAt) = error as? SignatureError else {
                Issue.record("clock \(clock): got \(String(describing: error))")
                continue
            }
            #expect(checkedAt.contains("build time"), "\(checkedAt)")
        }
    }

    @Test func expiredSignerIsRefusedAtTheDeviceClock() throws {
        let error = try verify(signer: "expired-signer", time: .device)
        guard case .expiredCertificate = error as? SignatureError else {
            Issue.record("got \(String(describing: error))")
            return
        }
    }

    /// The floor never moves the check back: a clock past the signer's validity refuses it.
    @Test func clockAheadOfTheFloorIsUsed() throws {
        let future = Date().addingTimeInterval(20 * 365 * 86400)
        let error = try verify(time: TrustTime(clock: future, floor: TrustTime.releaseTime))
        guard case .expiredCertificate(_, _, let checkedAt) = error as? SignatureError else {
            Issue.record("got \(String(describing: error))")
            return
        }
        #expect(!checkedAt.contains("build time"))
    }

    /// CRLs are judged at the same time: one past its next update leaves revocation unknown.
    @Test func expiredCRLIsRefused() throws {
        let later = Date().addingTimeInterval(60 * 86400)  // the test CRLs are valid for 30 days
        #expect(try verify(keyring: "crl-keyring", time: TrustTime(clock: Date(), floor: TrustTime.releaseTime)) == nil)
        let error = try verify(keyring: "crl-keyring", time: TrustTime(clock: later, floor: TrustTime.releaseTime))
        guard case .revocationUnknown(_, let reason) = error as? SignatureError else {
            Issue.record("got \(String(describing: error))")
            return
        }
        #expect(reason.contains("expired"), "\(reason)")
    }

    /// A CRL issued after the image was built (a keyring updated in the field) is not "not valid
    /// yet" on a board whose clock is behind: its last update raises the floor.
    @Test func theKeyringsNewestCRLRaisesTheFloor() throws {
        var ring = try Fixtures.keyring("crl-keyring")
        #expect(ring.time.floor > TrustTime.releaseTime)
        #expect(ring.time.floor <= Date())
        #expect(ring.time.clock == nil)
        let signature = try Fixtures.signer().sign(manifest)
        ring.time.clock = Self.epoch
        _ = try SignatureVerifier.verify(signature: signature, content: manifest, keyring: ring)
        ring.time.floor = TrustTime.releaseTime
        let error = #expect(throws: SignatureError.self) {
            try SignatureVerifier.verify(signature: signature, content: manifest, keyring: ring)
        }
        guard case .revocationUnknown(_, let reason) = error else {
            Issue.record("got \(String(describing: error))")
            return
        }
        #expect(reason.contains("not yet valid"), "\(reason)")
    }

    @Test func imageBuildTimeIsTheNewestOfTheReleaseAndTheClockEpochFile() throws {
        let directory = Fixtures.temporaryDirectory("clock-epoch")
        let stamp = directory + "/clock-epoch"
        #expect(TrustTime.imageBuildTime(clockEpoch: stamp) == TrustTime.releaseTime)
        Fixtures.write([], to: stamp)
        let built = Date(timeIntervalSince1970: 1_893_456_000)  // 2030-01-01
        try FileManager.default.setAttributes([.modificationDate: built], ofItemAtPath: stamp)
        #expect(TrustTime.imageBuildTime(clockEpoch: stamp) == built)
        let old = Date(timeIntervalSince1970: 1_000_000_000)
        try FileManager.default.setAttributes([.modificationDate: old], ofItemAtPath: stamp)
        #expect(TrustTime.imageBuildTime(clockEpoch: stamp) == TrustTime.releaseTime)
    }
}
