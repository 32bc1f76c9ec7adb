/// What a tar archive may hold beyond what libarchive tells: libarchive reads a contiguous file
/// (type '7') and any type it does not know as a regular file, and a GNU sparse member whose map
/// covers the whole file as a plain one, so the header's own type byte has to be read. The
/// rules are docs/bundle-format.md's "Tar rules".
public struct TarFormatViolation: ClassifiedError, Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// A member type the format does not allow (contiguous, sparse, volume label, …).
        case memberType
        /// Bytes after the end-of-archive marker that are not zero padding.
        case trailingData
        /// The archive ends without its two zero blocks.
        case noEndMarker
        /// A cpio member header whose name size no real archive has (libarchive would
        /// allocate and read ahead that many bytes, up to 4 GiB, before the signature is checked).
        case nameSize
    }

    public var kind: Kind
    /// The member concerned, when there is one.
    public var entry: String?
    public var reason: String
    public var description: String { (entry.map { "member '\($0)': " } ?? "") + reason }
    public var failureClass: FailureClass { .badBundle }
}

enum TarHeaderCheck {
    /// A tar record: what GNU tar and bsdtar pad an archive to. Zero padding after the end
    /// marker is allowed up to the end of the record that holds the marker, no further.
    static let recordSize: UInt64 = 10240
    /// The largest pax extended header looked into (ours hold a long name at most).
    static let maxExtendedHeader = 64 << 10
    static let maxHeaderChain = 16

    /// Checks the chain of headers of the member whose first header starts at `start`: pax and
    /// GNU long-name headers, then the member's own header. `bytes` returns the archive's bytes
    /// at an offset (nil when they are no longer in memory).
    static func check(headerAt start: UInt64, entry: String, bytes: (UInt64, Int) -> [UInt8]?) throws {
        func refuse(_ reason: String) -> TarFormatViolation {
            TarFormatViolation(kind: .memberType, entry: entry, reason: reason)
        }
        var offset = start
        for _ in 0..<maxHeaderChain {
            guard let block = bytes(offset, 512) else {
                throw refuse("its headers at byte \(start) span more than the reader keeps; not checked")
            }
            guard let size = octalOrBase256(block[124..<136]) else {
                throw refuse("the header at byte \(offset) has an invalid size field")
            }
            let flag = block[156]
            switch flag {
            case UInt8(ascii: "x"), UInt8(ascii: "g"), UInt8(ascii: "L"), UInt8(ascii: "K"):
                if flag == UInt8(ascii: "x") {
                    guard size <= UInt64(maxExtendedHeader), let data = bytes(offset + 512, Int(size)) else {
                        throw refuse("a pax extended header larger than \(maxExtendedHeader) bytes")
                    }
                    if contains(data, Array("GNU.sparse.".utf8)) {
                        throw refuse("a sparse file (pax GNU.sparse records); sparse members are not allowed")
                    }
                }
                offset += 512 + (size + 511) / 512 * 512
            case 0, UInt8(ascii: "0")...UInt8(ascii: "6"):
                return
            case UInt8(ascii: "S"):
                throw refuse("a GNU sparse file (type 'S'); sparse members are not allowed")
            case UInt8(ascii: "7"):
                throw refuse("a contiguous file (type '7'); only the POSIX types 0 to 6 are allowed")
            default:
                let shown = flag >= 0x21 && flag < 0x7f ? "'\(Character(Unicode.Scalar(flag)))'" : "byte \(flag)"
                throw refuse("tar type \(shown) is not allowed; only the POSIX types 0 to 6 are")
            }
        }
        throw refuse("more than \(maxHeaderChain) extended headers")
    }

    /// A ustar numeric field: octal digits (leading spaces or NULs, ended by a space or NUL), or
    /// GNU's base-256 with the high bit of the first byte set.
    static func octalOrBase256(_ field: ArraySlice<UInt8>) -> UInt64? {
        guard let first = field.first else { return nil }
        if first & 0x80 != 0 {
            var value: UInt64 = UInt64(first & 0x7f)
            for byte in field.dropFirst() {
                guard value >> 56 == 0 else { return nil }
                value = value << 8 | UInt64(byte)
            }
            return value
        }
        var value: UInt64 = 0
        var digits = 0
        for byte in field {
            if byte == 0x20 || byte == 0 {
                if digits > 0 { break }
                continue
            }
            guard (0x30...0x37).contains(byte), value >> 60 == 0 else { return nil }
            value = value << 3 | UInt64(byte - 0x30)
            digits += 1
        }
        return value
    }

    static func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        guard haystack.count >= needle.count else { return false }
        for start in 0...(haystack.count - needle.count) where haystack[start] == needle[0] {
            if haystack[start..<(start + needle.count)].elementsEqual(needle) { return true }
        }
        return false
    }
}
