import ArgumentParser
import TwinslotCore
import TwinslotService

struct ServiceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "service",
        abstract: "Serve installs, progress, status and marks over D-Bus (io.twinslot.Installer1).",
        discussion: """
            Owns the name io.twinslot.Installer1 on the system bus and exports the interface \
            io.twinslot.Installer1 at /io/twinslot/Installer1, plus RAUC's \
            de.pengutronix.rauc.Installer at / for scripts written against RAUC. Normally started \
            by systemd (dist/systemd/twinslot.service) with the bus policy of \
            dist/dbus/io.twinslot.Installer1.conf: root may call everything, other users may read \
            the properties and call Inspect and GetSlotStatus.

            Install(s source, a{sv} options) answers at once with an operation id and installs on \
            a worker thread, as 'twinslot install' would; watch the Progress and Completed signals \
            or the Operation, Phase, Progress and LastResult properties:

              busctl call io.twinslot.Installer1 /io/twinslot/Installer1 \\
                  io.twinslot.Installer1 Install 'sa{sv}' /data/update.tsb 0
              busctl get-property io.twinslot.Installer1 /io/twinslot/Installer1 \\
                  io.twinslot.Installer1 LastResult

            Errors are D-Bus errors named by the CLI's failure classes (io.twinslot.Error.Busy is \
            exit code 15, .BadBundle 10, .Untrusted 11 ...; docs/cli.md) with the CLI's message. \
            The CLI keeps working without the service: the install lock serialises both. \
            docs/operations.md, "Integrating through D-Bus", has every method and the RAUC mapping.
            """
    )

    @OptionGroup var global: GlobalOptions
    @Option(
        help: ArgumentHelp(
            "Connect to this bus instead of the system bus (a private dbus-daemon: unix:path=…).",
            valueName: "address"))
    var busAddress: String?
    @Flag(help: "Also own RAUC's bus name de.pengutronix.rauc (only where RAUC itself is not installed).")
    var raucName = false

    func run() throws {
        try reportingFailures {
            let device = try global.device()
            try Service.run(device: device, options: .init(busAddress: busAddress, raucName: raucName))
        }
    }
}
