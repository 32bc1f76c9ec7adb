/// What the loop driving a transfer did while it waited. A download that waits on a timer
/// instead of the network looks like a slow server from outside (issue 12: 512 KiB per second
/// whatever the server); these counts tell the two apart without measuring wall time.
public struct TransferCounters: Sendable, Equatable {
    /// Calls of `curl_multi_poll`: the times the reader blocked waiting for the network.
    public var polls = 0
    /// Of those, the waits no socket ended: they ran until a timer (ours or libcurl's).
    public var pollTimeouts = 0
    /// Waits begun while the read-ahead bound held the transfer paused. libcurl does not watch
    /// a paused transfer's socket, so only the timeout can end such a wait while megabytes sit
    /// unread in the socket. The loop never does this; the count is here to prove it.
    public var pausedPolls = 0
    /// How many times the read-ahead bound paused the transfer (the reader was behind).
    public var pauses = 0
    /// Body bytes that went through the read-ahead queue (two copies) rather than straight into
    /// the reader's buffer (one copy): only what arrives beyond the buffer of a waiting reader,
    /// or while the reader is busy, is queued.
    public var queuedBytes: UInt64 = 0

    public init() {}

    static func + (lhs: Self, rhs: Self) -> Self {
        var sum = lhs
        sum.polls += rhs.polls
        sum.pollTimeouts += rhs.pollTimeouts
        sum.pausedPolls += rhs.pausedPolls
        sum.pauses += rhs.pauses
        sum.queuedBytes += rhs.queuedBytes
        return sum
    }
}
