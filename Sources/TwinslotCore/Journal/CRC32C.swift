/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the journal frames' checksum: better
/// error detection than zlib's CRC-32 for the short records a journal holds.
///
/// Hand-written on purpose: the polynomial is part of the journal's on-disk format, and none of
/// the libraries twinslot already maps exports a CRC-32C (zlib has only CRC-32; libarchive,
/// libcrypto, libzstd, libsystemd and libxxhash export none: checked with `nm -D`). Debian's one
/// C/C++ candidate, libcrcutil, would be a new runtime dependency for a 256-entry table and a
/// loop; journal records are a few hundred bytes, so the table's speed is not what an install
/// waits for. Its value is pinned by the RFC 3720 check value in the tests.
public enum CRC32C {
    private static let table: [UInt32] = (0..<256).map { index in
        var crc = UInt32(index)
        for _ in 0..<8 { crc = crc & 1 != 0 ? (crc >> 1) ^ 0x82F6_3B78 : crc >> 1 }
        return crc
    }

    public static func checksum(_ bytes: some Sequence<UInt8>, continuing previous: UInt32 = 0) -> UInt32 {
        var crc = ~previous
        for byte in bytes { crc = table[Int((crc ^ UInt32(byte)) & 0xff)] ^ (crc >> 8) }
        return ~crc
    }
}
