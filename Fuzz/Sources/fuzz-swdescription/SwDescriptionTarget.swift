import FuzzSupport
import TwinslotCore

/// sw-description (libconfig syntax, then SWUpdate's interpretation) as the .swu reader parses
/// it, for a device (a board name, the set of group A or B) and for `bundle info` (every set);
/// a hardware-compatibility list is then matched the way install checks it.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSwDescription(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = FuzzInput.bytes(data, size)
    let selections: [(String?, SwDescription.Selection)] = [
        ("fuzz-board", .group(.a)), ("fuzz-board", .group(.b)), (nil, .all),
    ]
    for (board, selection) in selections {
        do {
            let description = try SwDescription.parse(bytes, board: board, selection: selection)
            _ = description.matchedHardware("fuzz-board-1.0")
            _ = description.matchedHardware("")
        } catch {
            expectClassified(error, [.badBundle], "sw-description")
        }
    }
    return 0
}

@_cdecl("fuzz_swdescription_main")
public func fuzz_swdescriptionMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    runFuzzer(argc, argv, fuzzSwDescription)
}
