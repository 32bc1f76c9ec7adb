import CZlib

/// CRC-32 with the zlib/IEEE 802.3 polynomial (reflected 0xEDB88320, initial and final value
/// 0xFFFFFFFF): the checksum of a U-Boot environment image, which U-Boot computes with its copy
/// of zlib's `crc32`. This calls zlib's (already mapped: libarchive links it).
public enum CRC32 {
    /// The checksum of `bytes`, continuing from `crc` (0 to start, as zlib's `crc32(0, ...)`).
    public static func checksum<C: Collection>(_ bytes: C, continuing crc: UInt32 = 0) -> UInt32
    where C.Element == UInt8 {
        if let value = bytes.withContiguousStorageIfAvailable({ update(crc, UnsafeRawBufferPointer($0)) }) {
            return value
        }
        return Array(bytes).withUnsafeBytes { update(crc, $0) }
    }

    private static func update(_ crc: UInt32, _ bytes: UnsafeRawBufferPointer) -> UInt32 {
        guard let base = bytes.baseAddress else { return crc }
        return UInt32(crc32_z(UInt(crc), base.assumingMemoryBound(to: Bytef.self), bytes.count))
    }
}
