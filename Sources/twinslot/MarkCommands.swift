import ArgumentParser
import TwinslotCore

extension Marker.Which: ExpressibleByArgument {}

struct MarkGoodCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mark-good",
        abstract: "Commit a slot group: it becomes the primary.",
        discussion: "For health logic outside twinslot: 'mark-good' (booted) after your own checks pass."
    )

    @OptionGroup var global: GlobalOptions
    @Argument(help: "booted or other.") var which: Marker.Which = .booted

    func run() throws {
        try reportingFailures { print(try Marker(device: try global.device()).markGood(which)) }
    }
}

struct MarkBadCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mark-bad",
        abstract: "Mark a slot group not bootable; for the booted group, fall back to the other on reboot.",
        discussion: "Refused when the other group holds nothing committed to fall back to."
    )

    @OptionGroup var global: GlobalOptions
    @Argument(help: "booted or other.") var which: Marker.Which = .booted

    func run() throws {
        try reportingFailures { print(try Marker(device: try global.device()).markBad(which)) }
    }
}
