import ArgumentParser
import Logging
import SystemPackage
import TwinslotCore
import TwinslotFleet

#if canImport(Glibc)
    import Glibc
#endif

struct AgentCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agent",
        abstract: "Poll a hawkBit DDI server, install what it assigns, and report how it ended.",
        discussion: """
            Polls {server}/{tenant}/controller/v1/{controller-id} at the interval the server \
            asks for, sends the device's attributes (hw_boardname, hw_revision, sw_version, and \
            any from --attributes-file or --attributes-command), streams an assigned bundle \
            (native or SWUpdate .swu) through the same install as 'twinslot install' while \
            checking the size and every hash the server announced, reports progress, and \
            reboots into the trial. After 'twinslot boot' committed or rolled back, the next \
            poll closes the action with success, or with failure and each health check's line.

            The server's wishes are honoured as the DDI API describes them: download/update \
            'skip' (nothing now), 'attempt' (twinslot consents) and 'forced'; a maintenance \
            window (download now, report 'downloaded', install once the window is available); \
            and cancelAction (accepted while nothing is written to a slot, rejected with the \
            reason once the bundle is staged).

            A downgrade is refused and reported as a failure (exit 13 with --once): a bundle \
            below the device's security-version floor, and, with 'allow-older-version = false' \
            in [security] of system.toml, any bundle whose version is older than the running one \
            (docs/configuration.md). A server that is down is retried with exponential backoff, \
            full jitter and its Retry-After; it never delays booting or committing, which do not \
            depend on the agent.

            With --once, one poll cycle runs and the exit code tells how it went (docs/cli.md).
            """
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var transport: TransportOptions
    @Option(help: ArgumentHelp("The server's base URL, e.g. https://hawkbit.example.com.", valueName: "url"))
    var server: String
    @Option(help: "The hawkBit tenant.") var tenant = "DEFAULT"
    @Option(help: ArgumentHelp("This device's controller id on the server.", valueName: "id")) var controllerId: String
    @Option(
        help: ArgumentHelp(
            "A file holding the device's target token, sent as 'Authorization: TargetToken' to the DDI server (and to artifact URLs on the same scheme, host and port only).",
            valueName: "path"))
    var tokenFile: String?
    @Option(
        help: ArgumentHelp(
            "A file holding the tenant's gateway token, sent as 'Authorization: GatewayToken' instead of a target token (one credential for many devices behind a gateway; hawkBit only, goosebit has none).",
            valueName: "path"))
    var gatewayTokenFile: String?
    @Option(
        help: ArgumentHelp(
            "hw_boardname sent to the server: the board section a .swu names for this device, or 'default' for a .swu whose hardware-compatibility list is top-level."
        ))
    var hwBoard = "default"
    @Option(
        help: ArgumentHelp(
            "hw_revision sent to the server (default: the configured compatible string, which a .swu's hardware-compatibility must list)."
        ))
    var hwRevision: String?
    @Option(
        help: ArgumentHelp(
            "A file of key=value lines (# comments) sent as extra configData attributes, e.g. serial=0042 or site=plant-3; read at every cycle, sent when it changes.",
            valueName: "path"))
    var attributesFile: String?
    @Option(
        help: ArgumentHelp(
            "A program (run without a shell or arguments, 10 s at most) whose standard output is key=value lines sent as extra configData attributes, run at every cycle.",
            valueName: "path"))
    var attributesCommand: String?
    @Option(
        help: ArgumentHelp(
            "Without --once: the first backoff ceiling after a failed cycle, in seconds; it doubles per failure up to --backoff-max and each pause is a uniform pick below it (full jitter).",
            valueName: "seconds"))
    var backoffInitial: Double = 5
    @Option(
        help: ArgumentHelp(
            "Without --once: the largest backoff ceiling, in seconds. A server's Retry-After (429/503) is honoured even when longer (up to an hour).",
            valueName: "seconds"))
    var backoffMax: Double = 300
    @Flag(help: "Run one poll cycle and exit.") var once = false
    @Flag(help: "With --once: print the cycle's result as JSON.") var json = false

    func validate() throws {
        if json && !once { throw ValidationError("--json goes with --once (the long-running agent logs to stderr)") }
        if tokenFile != nil && gatewayTokenFile != nil {
            throw ValidationError("--token-file and --gateway-token-file exclude each other: a request carries one")
        }
        if attributesFile != nil && attributesCommand != nil {
            throw ValidationError("--attributes-file and --attributes-command exclude each other")
        }
        if !(backoffInitial > 0) || !(backoffMax >= backoffInitial) {
            throw ValidationError("--backoff-initial must be > 0 and --backoff-max at least as large")
        }
    }

    struct CycleReport: Encodable {
        var result: String
        var version: String?
        var success: Bool?
        var failureClass: String?
        var sleepSeconds: Double
    }

    static func firstWord(_ path: String) throws -> String {
        guard let bytes = try? PosixStorage().readFile(FilePath(path)),
            let word = String(decoding: bytes, as: UTF8.self).split(whereSeparator: \.isWhitespace).first
        else {
            throw FleetError.invalidRequest("cannot read a token from \(path)")
        }
        return String(word)
    }

    func run() throws {
        try reportingFailures(json: json) {
            let device = try global.device()
            let keyring = try Keyring(contentsOf: device.config.keyring)
            var credential: DDIClient.Credential?
            if let tokenFile { credential = .target(try Self.firstWord(tokenFile)) }
            if let gatewayTokenFile { credential = .gateway(try Self.firstWord(gatewayTokenFile)) }
            let client = try DDIClient(
                server: server, tenant: tenant, controllerID: controllerId, credential: credential,
                options: try transport.httpOptions(device.config.network))
            var logger = Logger(label: "twinslot.agent")
            logger.logLevel = .info
            let attributes: AgentAttributes =
                if let attributesFile { .file(attributesFile) } else if let attributesCommand {
                    .command([attributesCommand])
                } else { .none }
            let agent = HawkBitAgent(
                device: device, keyring: keyring, client: client,
                identity: .init(
                    board: hwBoard, revision: hwRevision ?? device.config.compatible, attributes: attributes),
                logger: logger)
            if once {
                let result = try agent.cycle()
                if json { printJSONLine(report(result, sleep: agent.sleepSeconds)) }
                if case .refused(let failureClass) = result { throw ExitCode(failureClass.exitCode) }
                return
            }
            var failures = 0
            let schedule = PollSchedule(initialBackoff: backoffInitial, maximumBackoff: backoffMax)
            while true {
                let pause: Double
                do {
                    _ = try agent.cycle()
                    failures = 0
                    pause = schedule.afterSuccess(sleep: agent.sleepSeconds)
                } catch {
                    failures += 1
                    pause = schedule.afterFailure(failures, retryAfter: agent.retryAfter)
                    logger.warning(
                        "poll cycle failed; retrying",
                        metadata: [
                            "error": "\(error)", "in_seconds": "\(fixedPoint(pause, digits: 1))",
                            "retry_after": "\(agent.retryAfter.map { fixedPoint($0, digits: 0) } ?? "none")",
                        ])
                }
                usleep(UInt32(min(pause, 3600) * 1_000_000))
            }
        }
    }

    func report(_ result: HawkBitAgent.CycleResult, sleep: Double) -> CycleReport {
        switch result {
        case .idle: CycleReport(result: "idle", sleepSeconds: sleep)
        case .installedAwaitingReboot(let version):
            CycleReport(result: "installed", version: version, sleepSeconds: sleep)
        case .waitingForBootDecision: CycleReport(result: "waiting-for-boot", sleepSeconds: sleep)
        case .reported(let success): CycleReport(result: "reported", success: success, sleepSeconds: sleep)
        case .refused(let failureClass):
            CycleReport(result: "refused", failureClass: failureClass.rawValue, sleepSeconds: sleep)
        case .downloaded(let version): CycleReport(result: "downloaded", version: version, sleepSeconds: sleep)
        case .canceled: CycleReport(result: "canceled", sleepSeconds: sleep)
        case .cancelRejected: CycleReport(result: "cancel-rejected", sleepSeconds: sleep)
        }
    }
}
