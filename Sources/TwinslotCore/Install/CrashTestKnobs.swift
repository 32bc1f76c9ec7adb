/// Test-only switches that break the order of durable writes on purpose, so the crash harness
/// can show it catches such bugs. Never set outside tests; each defaults to the correct order.
public enum CrashTestKnobs {
    /// Skip the fsync of a raw slot's image before it is read back and journaled STAGED.
    nonisolated(unsafe) public static var skipImageSync = false
}
