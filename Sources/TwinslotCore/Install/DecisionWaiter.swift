#if canImport(Glibc)
    import Glibc
#endif

/// Waits for the boot service to decide an installed operation (commit or roll back), by
/// reading the journal: what `install --wait-health` needs to run until the update is settled.
/// It writes nothing, so it can wait across the reboot in another process.
public struct DecisionWaiter {
    public let device: Device

    public init(device: Device) {
        self.device = device
    }

    public enum WaitError: ClassifiedError {
        case undecided(operationID: String, seconds: Int)

        public var failureClass: FailureClass { .state }
        public var description: String {
            switch self {
            case .undecided(let id, let seconds):
                "operation \(id) is still undecided after \(seconds) s: the trial boot has not happened or not finished"
            }
        }
    }

    /// The finished operation `operationID`, once the journal has it; polls every 200 ms.
    public func wait(for operationID: String, timeout: Duration) throws -> DeviceState.FinishedOperation {
        let deadline = ContinuousClock.now + timeout
        while true {
            let (state, _) = try Journal.readState(storage: device.storage, directory: device.dataDirectory)
            if state.operation?.id != operationID, let last = state.last, last.id == operationID { return last }
            guard ContinuousClock.now < deadline else {
                throw WaitError.undecided(operationID: operationID, seconds: Int(timeout.components.seconds))
            }
            usleep(200_000)
        }
    }
}
