/// Walks the `newc`/`crc` member headers of a cpio stream as its bytes arrive, ahead of
/// libarchive, and refuses a header whose name size is beyond any real path. libarchive takes
/// the 8-hex-digit `c_namesize` as given and allocates and reads ahead that many bytes (up to
/// 4 GiB) to hold the name: a .swu's first header is read before its signature is checked,
/// so a tampered stream made the updater allocate gigabytes and buffer the rest of the bundle in
/// memory (found by the `swu` and `bundle` fuzz targets, docs/architecture.md "Fuzzing").
///
/// The walk follows the headers by their own sizes (a header is 110 bytes, its name and its
/// data each padded to 4 bytes) and stops at `TRAILER!!!`. Anything but a `newc` or `crc` header
/// where one must start is refused too: libarchive would skip ahead to the next magic it finds
/// (with a warning) and read that header, name size and all; so is a header field that is not
/// all hex digits, and a symbolic link whose target (read into memory whole) is over 4 KiB.
struct CpioHeaderGuard {
    /// PATH_MAX: no member of a .swu has a longer name.
    static let maxNameSize: UInt64 = 4096
    static let headerSize = 110
    static let trailer = Array("TRAILER!!!".utf8)

    /// Where the next header starts in the stream; nil once the walk stopped.
    private(set) var next: UInt64? = 0

    /// Checks every header whose bytes `window(offset, count)` now holds (nil: not yet read).
    mutating func advance(_ window: (UInt64, Int) -> [UInt8]?) throws {
        while let at = next {
            guard let header = window(at, Self.headerSize) else { return }
            let magic = header[0..<6]
            // Every field must be 8 hex digits: libarchive's parser stops at the first other
            // character and carries on, so a field such as "00000%00" would mean one size to it
            // and another (or nothing) here, and the walks would part ways.
            guard magic.elementsEqual("070701".utf8) || magic.elementsEqual("070702".utf8),
                header[6..<Self.headerSize].allSatisfy(Self.isHexDigit),
                let mode = Self.hex(header[14..<22]),
                let fileSize = Self.hex(header[54..<62]), let nameSize = Self.hex(header[94..<102])
            else {
                // libarchive would scan ahead for the next magic and read whatever header it finds.
                throw TarFormatViolation(
                    kind: .nameSize, entry: nil,
                    reason: "no cpio newc or crc member header at byte \(at), where the previous member ends")
            }
            guard nameSize <= Self.maxNameSize else {
                throw TarFormatViolation(
                    kind: .nameSize, entry: nil,
                    reason:
                        "the cpio member header at byte \(at) declares a \(nameSize)-byte name (at most \(Self.maxNameSize))"
                )
            }
            // libarchive reads a symbolic link's target (its data) into memory whole.
            guard mode & 0o170000 != 0o120000 || fileSize <= Self.maxNameSize else {
                throw TarFormatViolation(
                    kind: .nameSize, entry: nil,
                    reason:
                        "the cpio member header at byte \(at) declares a \(fileSize)-byte symbolic link target (at most \(Self.maxNameSize))"
                )
            }
            if nameSize == UInt64(Self.trailer.count + 1) {
                guard let name = window(at + UInt64(Self.headerSize), Self.trailer.count) else { return }
                if name == Self.trailer {
                    next = nil
                    return
                }
            }
            next = Self.padded(at + UInt64(Self.headerSize) + nameSize) + Self.padded(fileSize)
        }
    }

    static func padded(_ value: UInt64) -> UInt64 { (value + 3) & ~3 }

    static func isHexDigit(_ byte: UInt8) -> Bool {
        (0x30...0x39).contains(byte) || (0x41...0x46).contains(byte) || (0x61...0x66).contains(byte)
    }

    static func hex(_ digits: ArraySlice<UInt8>) -> UInt64? {
        guard let text = String(validating: digits, as: UTF8.self) else { return nil }
        return UInt64(text, radix: 16)
    }
}
