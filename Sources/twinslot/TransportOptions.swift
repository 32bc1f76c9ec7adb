import ArgumentParser
import SystemPackage
import TwinslotCore
import TwinslotFleet

/// How to reach a server over HTTP(S): shared by `install URL` and `agent`.
struct TransportOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "A PEM file of CA certificates to trust instead of the system trust store (a pinned CA).",
            valueName: "pem"))
    var caFile: String?

    @Option(help: ArgumentHelp("A client certificate (PEM) for servers that want one.", valueName: "pem"))
    var clientCert: String?

    @Option(help: ArgumentHelp("The client certificate's private key (PEM).", valueName: "pem"))
    var clientKey: String?

    @Option(
        help: ArgumentHelp(
            "Failed attempts in a row before a transfer gives up; each retry backs off with jitter.",
            valueName: "n"))
    var retries: Int = 6

    @Option(
        help: ArgumentHelp(
            "Seconds below the low-speed limit (system.toml [network] low-speed-limit, default 1024 bytes/s) before a transfer is cut and resumed; default [network] low-speed-time, 30.",
            valueName: "seconds"))
    var stallTimeout: Int?

    func validate() throws {
        guard retries >= 1 else { throw ValidationError("--retries must be at least 1") }
        if let stallTimeout, stallTimeout < 1 {
            throw ValidationError("--stall-timeout must be at least 1 second")
        }
        if (clientCert == nil) != (clientKey == nil) {
            throw ValidationError("--client-cert and --client-key go together")
        }
    }

    /// The options for this device: the command line's, over system.toml's `[network]` bounds.
    /// A named PEM file that is not there is a configuration error (17) now, not a TLS failure
    /// after every retry (19) or, over plain http, nothing at all.
    func httpOptions(_ network: NetworkConfig) throws -> HTTPOptions {
        for (option, path) in [("--ca-file", caFile), ("--client-cert", clientCert), ("--client-key", clientKey)] {
            guard let path else { continue }
            guard PosixStorage().fileKind(FilePath(path)) != nil else {
                throw CommandFailure(.config, "\(option) \(path) does not exist")
            }
        }
        var options = HTTPOptions()
        options.caFile = caFile
        options.clientCertificate = clientCert
        options.clientKey = clientKey
        options.retry.attempts = retries
        options.lowSpeedLimit = network.lowSpeedLimit
        options.stallTimeout = stallTimeout ?? network.lowSpeedSeconds
        return options
    }
}

/// `install` takes a path or a URL (`http://` or `https://`, in any case): a URL is streamed
/// with no local copy.
func openBundle(_ location: String, transport: TransportOptions, network: NetworkConfig) throws -> any ByteSource {
    if HTTPByteSource.isHTTPURL(location) {
        return try HTTPByteSource(url: location, options: try transport.httpOptions(network))
    }
    return try FileByteSource(path: location)
}
