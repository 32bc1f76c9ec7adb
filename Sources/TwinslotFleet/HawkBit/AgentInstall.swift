import SystemPackage
import TwinslotCore

#if canImport(Glibc)
    import Glibc
#endif

/// Installing an action, and downloading one the server does not let the device install yet.
extension HawkBitAgent {
    typealias Target = (chunk: DDI.DeploymentBase.Chunk, artifact: DDI.DeploymentBase.Artifact, url: String)

    /// The one bundle of an action, or the action closed as a failure (twinslot installs
    /// exactly one bundle per action).
    private func target(_ deployment: DDI.DeploymentBase, link: DDI.Link) throws -> Target? {
        let chunks = deployment.deployment.chunks
        guard chunks.count == 1, let chunk = chunks.first, chunk.artifacts.count == 1,
            let artifact = chunk.artifacts.first,
            let url = artifact.downloadURL
        else {
            let detail = "twinslot installs exactly one bundle per action (got \(chunks.count) chunk(s))"
            try client.sendFeedback(
                deployment: link,
                DDI.Feedback(id: deployment.id, execution: .closed, finished: .failure, details: [detail]))
            return nil
        }
        return (chunk, artifact, url)
    }

    private func source(_ target: Target) throws -> ArtifactSource {
        ArtifactSource(
            try HTTPByteSource(url: target.url, options: client.downloadOptions(for: target.url)),
            size: target.artifact.size, hashes: target.artifact.hashes ?? [:])
    }

    var downloadDirectory: FilePath { device.dataDirectory.appending("agent-download") }

    /// Shows the action's phase in the textfile while it runs (an install takes minutes, and a
    /// dashboard should see "installing" then, not the phase of the last cycle).
    func enter(_ phase: String, action: String, state: inout AgentState) {
        var metrics = state.metrics ?? AgentMetrics()
        metrics.actionID = action
        metrics.phase = phase
        state.metrics = metrics
        try? state.save(device)
        metrics.publish(device)
    }

    /// `update: skip` or `maintenanceWindow: unavailable`: fetch the bundle into
    /// `<data>/agent-download/` (checked against the announced size and hashes), report
    /// `downloaded`, and install it from there once the server allows it. Nothing is written to
    /// a slot, so a cancel is still accepted.
    func downloadOnly(_ deployment: DDI.DeploymentBase, link: DDI.Link, state: inout AgentState) throws
        -> CycleResult
    {
        if let downloaded = state.downloaded, downloaded.actionID == deployment.id {
            return .downloaded(version: downloaded.version)
        }
        guard let target = try target(deployment, link: link) else { return .refused(.badBundle) }
        enter("downloading", action: deployment.id, state: &state)
        try client.sendFeedback(
            deployment: link,
            DDI.Feedback(
                id: deployment.id, execution: .proceeding, finished: .none,
                details: ["Downloading \(target.artifact.filename) (\(target.chunk.version ?? "?")) to install later"]))
        try device.storage.makeDirectory(downloadDirectory)
        let path = downloadDirectory.appending("action-\(deployment.id.filter { $0.isLetter || $0.isNumber }).bundle")
        try Self.copy(try source(target), to: path.string)
        state.downloaded = AgentState.DownloadedAction(
            actionID: deployment.id, path: path.string, version: target.chunk.version)
        try state.save(device)
        let why =
            deployment.deployment.maintenanceWindow == "unavailable"
            ? "outside the maintenance window" : "the server asks not to update yet"
        try client.sendFeedback(
            deployment: link,
            DDI.Feedback(
                id: deployment.id, execution: .downloaded, finished: .none,
                details: ["twinslot: downloaded \(target.chunk.version ?? ""); installing when allowed (\(why))"]))
        logger.info("downloaded; waiting to install", metadata: ["action": "\(deployment.id)"])
        return .downloaded(version: target.chunk.version)
    }

    /// Streams `source` into a file, then syncs it; `finish()` checks size and hashes.
    static func copy(_ source: ArtifactSource, to path: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw FleetError.invalidRequest("cannot create \(path): errno \(errno)") }
        defer { close(fd) }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 256 << 10, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            let count = try source.read(into: buffer)
            if count == 0 { break }
            var offset = 0
            while offset < count {
                let written = write(fd, buffer.baseAddress! + offset, count - offset)
                if written < 0 && errno == EINTR { continue }
                guard written > 0 else { throw FleetError.invalidRequest("cannot write \(path): errno \(errno)") }
                offset += written
            }
        }
        try source.finish()
        _ = fsync(fd)
    }

    func discardDownload(_ state: inout AgentState) throws {
        if let downloaded = state.downloaded { try? device.storage.remove(FilePath(downloaded.path)) }
        state.downloaded = nil
        try state.save(device)
    }

    func install(_ deployment: DDI.DeploymentBase, link: DDI.Link, state: inout AgentState) throws -> CycleResult {
        guard let target = try target(deployment, link: link) else { return .refused(.badBundle) }
        let local = state.downloaded.flatMap { $0.actionID == deployment.id ? $0.path : nil }
        enter("installing", action: deployment.id, state: &state)
        try client.sendFeedback(
            deployment: link,
            DDI.Feedback(
                id: deployment.id, execution: .proceeding, finished: .none,
                details: [
                    local == nil
                        ? "Downloading \(target.artifact.filename) (\(target.chunk.version ?? "?"))"
                        : "Installing \(target.artifact.filename) (\(target.chunk.version ?? "?")), downloaded before"
                ]))
        let source: ArtifactSource =
            if let local {
                ArtifactSource(
                    try FileByteSource(path: local), size: target.artifact.size, hashes: target.artifact.hashes ?? [:])
            } else {
                try self.source(target)
            }
        let feedback = ProgressFeedback(
            client: client.singleAttempt(), link: link, actionID: deployment.id, size: target.artifact.size)
        let outcome: InstallOutcome
        do {
            defer { feedback.finish() }
            outcome = try Installer(device: device, keyring: keyring, logger: logger).install(
                from: source, progress: { feedback.progress($0) })
        } catch {
            let failureClass = (error as? any ClassifiedError)?.failureClass ?? .internalError
            switch failureClass {
            case .network, .busy:
                // Try again at the next poll; the server keeps offering the action.
                try? client.sendFeedback(
                    deployment: link,
                    DDI.Feedback(
                        id: deployment.id, execution: .proceeding, finished: .none,
                        details: ["twinslot: \(failureClass.rawValue): \(error); will retry"]))
                throw error
            default:
                try client.sendFeedback(
                    deployment: link,
                    DDI.Feedback(
                        id: deployment.id, execution: .closed, finished: .failure,
                        details: ["twinslot: \(failureClass.rawValue) (exit \(failureClass.exitCode))", "\(error)"]))
                logger.error("install refused", metadata: ["action": "\(deployment.id)", "error": "\(error)"])
                if local != nil { try discardDownload(&state) }
                return .refused(failureClass)
            }
        }
        let counts = feedback.finish()
        logger.info("progress", metadata: ["events": "\(counts.events)", "feedback_requests": "\(counts.requests)"])
        if local != nil { try discardDownload(&state) }
        if outcome.kind == .alreadyInstalled {
            try client.sendFeedback(
                deployment: link,
                DDI.Feedback(
                    id: deployment.id, execution: .closed, finished: .success,
                    details: ["twinslot: \(outcome.version) is already installed and committed"]))
            return .reported(success: true)
        }
        state.pending = AgentState.PendingAction(
            actionID: deployment.id, deploymentHref: link.href, version: outcome.version,
            operationID: outcome.operationID ?? "")
        try state.save(device)
        try client.sendFeedback(
            deployment: link,
            DDI.Feedback(
                id: deployment.id, execution: .proceeding, finished: .none,
                details: [
                    "Downloaded 100%",
                    "twinslot: \(outcome.version) staged in group \(outcome.target.rawValue); rebooting into a trial boot",
                ]))
        logger.info("installed; rebooting", metadata: ["version": "\(outcome.version)"])
        try reboot()
        return .installedAwaitingReboot(version: outcome.version)
    }
}
