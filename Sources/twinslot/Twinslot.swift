import ArgumentParser
import TwinslotCore

@main
struct Twinslot: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Safe A/B updates for edge Linux devices.")
}
