import ArgumentParser
import TwinslotCore

@main
struct Twinslot: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Safe A/B updates for edge Linux devices.",
        discussion: """
            twinslot stages a signed bundle into the inactive slot group, verifies it, and flips \
            to it behind a write-ahead journal, so that a power cut never leaves the device \
            without a good slot to boot. Exit codes are listed in docs/cli.md.
            """,
        subcommands: [
            BundleCommand.self, InstallCommand.self, StatusCommand.self, BootCommand.self, MarkGoodCommand.self,
            MarkBadCommand.self, SimCommand.self,
        ]
    )
}
