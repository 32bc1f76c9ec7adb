import FuzzSupport
import TwinslotCore

/// The .swu reader as `install` drives it on a device (sw-description mapped onto the slot
/// classes of group B, images streamed and hashed, an archive image walked as install extracts
/// it), and as `bundle verify` does with no device (every set). sw-description's CMS signature
/// is checked against the seed keyring first; the unverified pass reaches the images too.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSwu(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = FuzzInput.bytes(data, size)
    let chunk = bytes.last.map { 1 << Int($0 % 17) } ?? 1 << 16
    let device = SwuTarget(
        compatible: "fuzz-board-1.0", group: .b,
        slotClasses: [
            SlotClassConfig(name: "rootfs", type: .raw, a: "/dev/fuzz-a2", b: "/dev/fuzz-b2"),
            SlotClassConfig(name: "firmware", type: .raw, a: "/dev/fuzz-a1", b: "/dev/fuzz-b1"),
            SlotClassConfig(name: "apps", type: .directory, a: "/srv/fuzz/apps-a", b: "/srv/fuzz/apps-b"),
        ])
    if let keyring = FuzzInput.keyring { read(bytes, keyring: keyring, target: device, chunk: chunk) }
    read(bytes, keyring: nil, target: device, chunk: chunk)
    read(bytes, keyring: nil, target: nil, chunk: chunk)
    return 0
}

private func read(_ bytes: [UInt8], keyring: Keyring?, target: SwuTarget?, chunk: Int) {
    do {
        try verifyWhole(SwuReader(source: MemoryByteSource(bytes, chunk: chunk), target: target), keyring: keyring)
    } catch {
        expectClassified(error, [.badBundle, .untrusted, .incompatible], "swu read")
    }
}

@_cdecl("fuzz_swu_main")
public func fuzz_swuMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    runFuzzer(argc, argv, fuzzSwu)
}
