import FuzzSupport
import TwinslotCore
import TwinslotFleet

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The hawkBit DDI documents the agent reads from the server (DDIClient decodes them with
/// JSONDecoder): the controller base (polling interval, links), a deployment base (chunks,
/// artifacts, hashes, download links) and a cancel action; and the agent's own state file.
/// Every value the agent then derives from them is computed too (the sleep interval, the
/// download URL, the hashes) and checked where the agent's loop relies on it: the polling
/// sleep is a finite, non-negative number of seconds (AgentCommand converts it to an integer).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzDDI(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let body = Data(FuzzInput.bytes(data, size))
    let decoder = JSONDecoder()
    if let base = try? decoder.decode(DDI.ControllerBase.self, from: body) {
        if let sleep = base.sleepSeconds {
            precondition(
                sleep.isFinite && sleep >= 0, "polling sleep '\(base.config?.polling.sleep ?? "")' is \(sleep) s")
            _ = PollSchedule().afterSuccess(sleep: sleep)
        }
        _ = [base.links?.deploymentBase, base.links?.cancelAction, base.links?.configData].map { $0?.href }
    }
    if let deployment = try? decoder.decode(DDI.DeploymentBase.self, from: body) {
        for chunk in deployment.deployment.chunks {
            for artifact in chunk.artifacts {
                _ = artifact.downloadURL
                _ = artifact.hashes?["sha256"]
            }
        }
    }
    _ = try? decoder.decode(DDI.CancelAction.self, from: body)
    if let state = try? decoder.decode(AgentState.self, from: body) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let again = try? decoder.decode(AgentState.self, from: encoder.encode(state))
        precondition(again == state, "agent.json does not survive a save and load")
    }
    return 0
}

@_cdecl("fuzz_ddi_main")
public func fuzz_ddiMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    runFuzzer(argc, argv, fuzzDDI)
}
