import TwinslotCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Checks a signer before `bundle create` or `bundle sign --cert` signs with it, so that a
/// bundle no device will accept is refused where it is made, not found out on every device.
/// Refused (11) whatever the keyring: an expired signer, one that may not sign code. With
/// `--keyring`, the verifier `install` runs decides (the chain through `--chain`, revocation).
/// Without it, a signer that is neither self-issued nor given intermediates gets a warning:
/// only a keyring holding its issuer itself accepts it, which is legitimate but rare.
func checkSigner(_ identity: SigningIdentity, keyring: String?) throws {
    let facts = try identity.checkUsable()
    if let keyring {
        _ = try identity.check(against: try Keyring(contentsOf: keyring))
        return
    }
    guard facts.carriedCertificates == 0, !facts.selfIssued else { return }
    writeUnbuffered(
        "twinslot: warning: signer '\(facts.subject)' is issued by '\(facts.issuer)' and no --chain is given: "
            + "only devices whose keyring holds '\(facts.issuer)' itself will accept the bundle, others refuse it "
            + "(does not chain). Give the intermediates with --chain, and --keyring to check as a device would.\n",
        to: STDERR_FILENO)
}
