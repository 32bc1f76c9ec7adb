import FuzzSupport
import SystemPackage
import TwinslotCore

/// The U-Boot environment as UBootBackend reads and writes it (`UBootEnvironmentStore` over
/// real files), in both layouts: the single one (`CRC | data`) and the redundant one (two
/// copies of `CRC | flags | data`), its copies at two offsets of one device or on two devices.
/// The first input byte picks the layout; the rest is the medium. Besides not crashing: an
/// environment that reads must take a write (a flip sets variables) and read back as written,
/// and a redundant write must go to the inactive copy. The whole input is also read as
/// `fw_env.config` text.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzUBootEnv(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = FuzzInput.bytes(data, size)
    do {
        _ = try UBootEnvironmentConfig(parsing: String(decoding: bytes, as: UTF8.self), source: "fuzz-fw_env.config")
    } catch {
        expectClassified(error, [.config], "fw_env.config")
    }
    guard let mode = bytes.first else { return 0 }
    let medium = Array(bytes.dropFirst())
    ScratchDirectory.clear()
    let first = FilePath(ScratchDirectory.path).appending("env0")
    let second = FilePath(ScratchDirectory.path).appending("env1")
    let copies: [UBootEnvironmentCopy]
    switch mode % 3 {
    case 0:
        ScratchDirectory.store("env0", medium)
        copies = [UBootEnvironmentCopy(path: first, offset: 0, size: medium.count)]
    case 1:
        ScratchDirectory.store("env0", medium)
        let half = medium.count / 2
        copies = [
            UBootEnvironmentCopy(path: first, offset: 0, size: half),
            UBootEnvironmentCopy(path: first, offset: UInt64(half), size: half),
        ]
    default:
        let half = medium.count / 2
        ScratchDirectory.store("env0", Array(medium[..<half]))
        ScratchDirectory.store("env1", Array(medium[half..<(2 * half)]))
        copies = [
            UBootEnvironmentCopy(path: first, offset: 0, size: half),
            UBootEnvironmentCopy(path: second, offset: 0, size: half),
        ]
    }
    let config: UBootEnvironmentConfig
    do {
        config = try UBootEnvironmentConfig(copies: copies)
    } catch {
        expectClassified(error, [.config], "U-Boot environment copies")
        return 0
    }
    let store = UBootEnvironmentStore(config: config, storage: PosixStorage())
    do {
        let before = try store.snapshot()
        var environment = try store.read()
        environment["twinslot_fuzz"] = "1"
        let written: Int
        do {
            written = try store.write(environment)
        } catch {
            // An environment that is full, or holds a name U-Boot cannot write back, is refused.
            expectClassified(error, [.state], "U-Boot environment write")
            return 0
        }
        if config.redundant, let active = before.activeIndex {
            precondition(written == 1 - active, "a redundant write went to the active copy")
        }
        let reread = try store.read()
        precondition(reread == environment, "the U-Boot environment did not read back as written")
    } catch {
        expectClassified(error, [.state, .io], "U-Boot environment read")
    }
    return 0
}

@_cdecl("fuzz_ubootenv_main")
public func fuzz_ubootenvMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    runFuzzer(argc, argv, fuzzUBootEnv)
}
