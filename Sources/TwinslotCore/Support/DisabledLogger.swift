import Logging

extension Logger {
    /// The default of Core's injected loggers: a library logs only where its caller asks
    /// (swift-log's convention), so tests and TwinslotSim stay silent.
    public static let disabled = Logger(label: "twinslot", factory: { _ in SwiftLogNoOpLogHandler() })
}
