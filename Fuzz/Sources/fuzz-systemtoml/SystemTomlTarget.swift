import FuzzSupport
import TwinslotCore

/// system.toml as every device command loads it (`SystemConfig.parse(text:)`: the TOML parser,
/// then the configuration rules), on any UTF-8 text (`SystemConfig.load` refuses other bytes
/// before parsing). A configuration that loads must pass `validate()`, which parses its
/// `renderTOML()` again (`bootloader init` and the simulator write configurations that way).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSystemToml(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = FuzzInput.bytes(data, size)
    guard let text = String(validating: bytes, as: UTF8.self) else { return 0 }
    let config: SystemConfig
    do {
        config = try SystemConfig.parse(text: text, sourcePath: "fuzz.toml")
    } catch {
        expectClassified(error, [.config], "system.toml")
        return 0
    }
    do {
        try config.validate()
    } catch {
        fatalError("a configuration that loaded does not validate after renderTOML(): \(error)")
    }
    return 0
}

@_cdecl("fuzz_systemtoml_main")
public func fuzz_systemtomlMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    runFuzzer(argc, argv, fuzzSystemToml)
}
