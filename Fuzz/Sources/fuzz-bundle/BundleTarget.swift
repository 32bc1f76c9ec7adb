import FuzzSupport
import TwinslotCore

/// `twinslot bundle verify` on arbitrary bytes (a native bundle or, by its magic, a .swu), the
/// way BundleVerifyCommand reads a file: the manifest and its CMS signature against the seed
/// keyring, then every image through the decode/hash pipeline, a directory image through the
/// tar walk install extracts with. The same bytes are then read without a keyring (`bundle
/// info`, and past the signature): the outer tar after manifest.sig is not covered by the
/// signature, so a signed bundle's image members are attacker bytes too.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzBundle(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = FuzzInput.bytes(data, size)
    // The last byte picks how the source splits its reads (1 byte to 64 KiB).
    let chunk = bytes.last.map { 1 << Int($0 % 17) } ?? 1 << 16
    if let keyring = FuzzInput.keyring { verify(bytes, keyring: keyring, chunk: chunk) }
    verify(bytes, keyring: nil, chunk: chunk)
    return 0
}

private func verify(_ bytes: [UInt8], keyring: Keyring?, chunk: Int) {
    do {
        try verifyWhole(BundleFormat.open(MemoryByteSource(bytes, chunk: chunk), swu: nil), keyring: keyring)
    } catch {
        expectClassified(error, [.badBundle, .untrusted], "bundle verify")
    }
}

@_cdecl("fuzz_bundle_main")
public func fuzz_bundleMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    runFuzzer(argc, argv, fuzzBundle)
}
