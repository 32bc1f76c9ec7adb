import ArgumentParser

struct BundleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bundle",
        abstract: "Build, sign, inspect, verify and extract update bundles.",
        discussion: """
            A bundle is a POSIX tar: manifest.json, its CMS signature manifest.sig, then one \
            zstd-compressed image per slot class (docs/bundle-format.md).
            """,
        subcommands: [
            BundleCreateCommand.self, BundleSignCommand.self, BundleInfoCommand.self, BundleVerifyCommand.self,
            BundleExtractCommand.self,
        ]
    )
}
