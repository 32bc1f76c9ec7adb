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
            asks for, sends the device's attributes (hw_boardname, hw_revision, sw_version), \
            streams an assigned bundle (native or SWUpdate .swu) through the same install as \
            'twinslot install' while checking the size and every hash the server announced, \
            reports progress, and reboots into the trial. After 'twinslot boot' committed or \
            rolled back, the next poll closes the action with success, or with failure and \
            the health checks' details. Anti-rollback applies: a downgrade is refused and \
            reported as a failure. A server that is down is retried with backoff and jitter; \
            it never delays booting or committing, which do not depend on the agent.

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
            "A file holding the device's target token, sent as 'Authorization: TargetToken'.", valueName: "path"))
    var tokenFile: String?
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
    @Flag(help: "Run one poll cycle and exit.") var once = false
    @Flag(help: "With --once: print the cycle's result as JSON.") var json = false

    func validate() throws {
        if json && !once { throw ValidationError("--json goes with --once (the long-running agent logs to stderr)") }
    }

    struct CycleReport: Encodable {
        var result: String
        var version: String?
        var success: Bool?
        var failureClass: String?
        var sleepSeconds: Double
    }

    func run() throws {
        try reportingFailures(json: json) {
            let device = try global.device()
            let keyring = try Keyring(contentsOf: device.config.keyring)
            var token: String?
            if let tokenFile {
                guard let bytes = try? PosixStorage().readFile(FilePath(tokenFile)) else {
                    throw FleetError.invalidRequest("cannot read the token file \(tokenFile)")
                }
                token = String(decoding: bytes, as: UTF8.self).split(whereSeparator: \.isWhitespace).first.map(
                    String.init)
            }
            let client = try DDIClient(
                server: server, tenant: tenant, controllerID: controllerId, token: token,
                options: transport.httpOptions(device.config.network)
            )
            var logger = Logger(label: "twinslot.agent")
            logger.logLevel = .info
            let agent = HawkBitAgent(
                device: device, keyring: keyring, client: client,
                identity: .init(board: hwBoard, revision: hwRevision ?? device.config.compatible), logger: logger)
            if once {
                let result = try agent.cycle()
                if json { printJSONLine(report(result, sleep: agent.sleepSeconds)) }
                if case .refused(let failureClass) = result { throw ExitCode(failureClass.exitCode) }
                return
            }
            var failures = 0
            let backoff = RetryPolicy(attempts: .max, initialDelay: 5, maximumDelay: 300)
            while true {
                let pause: Double
                do {
                    _ = try agent.cycle()
                    failures = 0
                    pause = agent.sleepSeconds * Double.random(in: 0.9...1.1)
                } catch {
                    failures += 1
                    pause = backoff.delay(afterFailure: failures)
                    logger.warning(
                        "poll cycle failed; retrying", metadata: ["error": "\(error)", "in_seconds": "\(Int(pause))"])
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
        }
    }
}
