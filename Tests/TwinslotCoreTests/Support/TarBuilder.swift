/// Writes ustar archives byte by byte, so tests can make every malformed bundle a hostile sender
/// could: wrong sizes, links, device nodes, absolute names, missing end blocks.
struct TarBuilder {
    enum TypeFlag: UInt8 {
        case regular = 0x30  // '0'
        case hardlink = 0x31  // '1'
        case symlink = 0x32  // '2'
        case characterDevice = 0x33  // '3'
        case blockDevice = 0x34  // '4'
        case directory = 0x35  // '5'
        case fifo = 0x36  // '6'
        case contiguous = 0x37  // '7'
        case gnuSparse = 0x53  // 'S' (GNU magic, one extent covering the whole file)
    }

    struct Member {
        var name: String
        var data: [UInt8]
        var type: TypeFlag = .regular
        var linkName: String = ""
        /// The size written into the header, when it should differ from the data.
        var declaredSize: Int?
    }

    var members: [Member] = []

    static func header(_ member: Member) -> [UInt8] {
        var block = [UInt8](repeating: 0, count: 512)
        func put(_ text: String, at offset: Int, width: Int) {
            for (i, byte) in text.utf8.prefix(width).enumerated() { block[offset + i] = byte }
        }
        func octal(_ value: Int, at offset: Int, width: Int) {
            let digits = String(value, radix: 8)
            put(String(repeating: "0", count: max(0, width - 1 - digits.count)) + digits, at: offset, width: width - 1)
        }
        put(member.name, at: 0, width: 100)
        octal(0o644, at: 100, width: 8)
        octal(0, at: 108, width: 8)
        octal(0, at: 116, width: 8)
        let hasData = [.regular, .contiguous, .gnuSparse].contains(member.type)
        octal(hasData ? (member.declaredSize ?? member.data.count) : 0, at: 124, width: 12)
        octal(0, at: 136, width: 12)
        put("        ", at: 148, width: 8)
        block[156] = member.type.rawValue
        put(member.linkName, at: 157, width: 100)
        if member.type == .gnuSparse {
            put("ustar  ", at: 257, width: 8)
            octal(0, at: 386, width: 12)
            octal(member.data.count, at: 398, width: 12)
            octal(member.data.count, at: 483, width: 12)
        } else {
            put("ustar", at: 257, width: 6)
            put("00", at: 263, width: 2)
        }
        let sum = block.reduce(0) { $0 + Int($1) }
        let digits = String(sum, radix: 8)
        put(String(repeating: "0", count: 6 - digits.count) + digits, at: 148, width: 6)
        block[154] = 0
        block[155] = 0x20
        return block
    }

    func bytes(endBlocks: Bool = true) -> [UInt8] {
        var out: [UInt8] = []
        for member in members {
            out += Self.header(member)
            out += member.data
            out += [UInt8](repeating: 0, count: (512 - member.data.count % 512) % 512)
        }
        if endBlocks { out += [UInt8](repeating: 0, count: 1024) }
        return out
    }

    /// Where each member's header starts, and where its data starts and ends.
    func layout() -> [(header: Int, data: Int, end: Int)] {
        var offset = 0
        var result: [(Int, Int, Int)] = []
        for member in members {
            result.append((offset, offset + 512, offset + 512 + member.data.count))
            offset += 512 + member.data.count + (512 - member.data.count % 512) % 512
        }
        return result
    }
}
