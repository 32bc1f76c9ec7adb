import FuzzSupport
import TwinslotCore

/// The GRUB environment block as GrubBackend reads it (`GrubEnvironment(parsing:)`): besides
/// not crashing, a block that parses and serializes must parse back to the same variables
/// (every flip is a read-modify-write of this block).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzGrubEnv(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = FuzzInput.bytes(data, size)
    do {
        let environment = try GrubEnvironment(parsing: bytes, source: "fuzz-grubenv")
        let block: [UInt8]
        do {
            block = try environment.serialized(source: "fuzz-grubenv")
        } catch {
            expectClassified(error, [.state, .config], "grubenv serialize")
            return 0
        }
        let reread = try GrubEnvironment(parsing: block, source: "fuzz-grubenv (rewritten)")
        precondition(reread.variables == environment.variables, "grubenv changed in a rewrite")
    } catch {
        expectClassified(error, [.state], "grubenv parse")
    }
    return 0
}

@_cdecl("fuzz_grubenv_main")
public func fuzz_grubenvMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    runFuzzer(argc, argv, fuzzGrubEnv)
}
