import Synchronization
import TwinslotCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// One install started over the bus: refused at once when it cannot start (Busy, Usage),
/// otherwise run on its own thread by the CLI's Installer, whatever the calling client does
/// afterwards: a client that disconnects does not stop it, and the next one reads the result
/// from LastResult and LastError.
struct InstallOperation {
    struct Options {
        var dryRun = false

        /// Options are refused by name, never ignored: a script that asks for something the
        /// service does not do must learn it before anything happens.
        init(_ entries: [(String, BusValue)]) throws(ServiceError) {
            for (key, value) in entries {
                switch (key, value) {
                case ("dry-run", .bool(let flag)): dryRun = flag
                case ("dry-run", _): throw ServiceError.usage("option 'dry-run' must be a boolean (b)")
                default:
                    throw ServiceError.usage("unknown install option '\(key)' (the service takes: dry-run)")
                }
            }
        }
    }

    let device: Device
    let state: OperationState

    /// Claims the service and the install lock's availability, then starts the worker;
    /// returns the operation id the Completed signal will carry.
    func start(source: String, options: Options, caller: String) throws(ServiceError) -> String {
        try Records.checkLocation(source)
        let running = state.snapshot
        if running.operation != "idle" {
            throw ServiceError(
                .busy,
                "the service is already installing (operation \(running.operationID), started by \(running.caller)); "
                    + "try again when it completes")
        }
        // The CLI may hold the lock: refuse now, with its holder, rather than after a download.
        do {
            _ = try InstallLock(dataDirectory: device.config.dataDirectory)
        } catch {
            var message = String(describing: error)
            if case .busy(let path) = error as? InstallError, let holder = LockHolder.describe(lockPath: path) {
                message += " (\(holder))"
            }
            throw ServiceError(ServiceError(error).failureClass, message)
        }
        let id = UUID().uuidString.lowercased()
        if let running = state.begin(operationID: id, caller: caller) {
            throw ServiceError(.busy, "the service is already installing (operation \(running.operationID))")
        }
        let device = self.device
        let state = self.state
        startThread(name: "bus-install") {
            state.finish(Self.run(source: source, options: options, device: device, state: state, id: id))
        }
        return id
    }

    /// The install itself; its result says what the CLI would print, and the CLI's exit code.
    private static func run(
        source location: String, options: Options, device: Device, state: OperationState, id: String
    ) -> OperationState.Result {
        do {
            var installer = Installer(device: device, keyring: try Keyring(contentsOf: device.config.keyring))
            installer.phaseObserver = { phase in
                if case .writing(let total) = phase {
                    state.setPhase(phase.name, total: total)
                } else {
                    state.setPhase(phase.name)
                }
            }
            // Bytes per image, summed: the installer reports each image from 0.
            let written = Mutex<[String: UInt64]>([:])
            let source = try Records.openSource(location, device: device)
            let outcome = try installer.install(from: source, dryRun: options.dryRun) { progress in
                let done = written.withLock { images in
                    images[progress.slotClass] = progress.bytes
                    return images.values.reduce(0, +)
                }
                state.setBytes(done: done, image: progress.slotClass)
            }
            return .init(exitCode: 0, message: summary(outcome), operationID: id)
        } catch {
            let failure = ServiceError(error)
            return .init(exitCode: failure.failureClass.exitCode, message: failure.message, operationID: id)
        }
    }

    /// The CLI's one-line summaries (InstallCommand), so LastResult reads like the terminal.
    static func summary(_ outcome: InstallOutcome) -> String {
        switch outcome.kind {
        case .alreadyInstalled: "bundle \(outcome.version) is already installed and running: nothing to do"
        case .planned:
            "dry run: bundle \(outcome.version) verified; would write group \(outcome.target.rawValue)"
        case .staged:
            "installed \(outcome.version) into group \(outcome.target.rawValue); it boots once on the next reboot, "
                + "then commits if healthy"
        }
    }
}
