import ArgumentParser
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
            "Seconds without a byte before a transfer is dropped and resumed.", valueName: "seconds"))
    var stallTimeout: Int = 30

    func validate() throws {
        guard retries >= 1 else { throw ValidationError("--retries must be at least 1") }
        guard stallTimeout >= 1 else { throw ValidationError("--stall-timeout must be at least 1 second") }
        if (clientCert == nil) != (clientKey == nil) {
            throw ValidationError("--client-cert and --client-key go together")
        }
    }

    var httpOptions: HTTPOptions {
        var options = HTTPOptions()
        options.caFile = caFile
        options.clientCertificate = clientCert
        options.clientKey = clientKey
        options.retry.attempts = retries
        options.stallTimeout = stallTimeout
        return options
    }
}

/// `install` takes a path or a URL: a URL is streamed with no local copy.
func openBundle(_ location: String, transport: TransportOptions) throws -> any ByteSource {
    if location.hasPrefix("http://") || location.hasPrefix("https://") {
        return try HTTPByteSource(url: location, options: transport.httpOptions)
    }
    return try FileByteSource(path: location)
}
