import Synchronization

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Counts an image's bytes on the sink thread and reports at most every 100 ms, and at the end.
/// Its count is behind a lock: one acquisition per block the sink writes (128 KiB), never per byte.
final class ProgressTracker: Sendable {
    let slotClass: String
    let total: UInt64
    let report: (@Sendable (Installer.Progress) -> Void)?
    private let counted = Mutex<(bytes: UInt64, lastReport: Date)>((0, .distantPast))

    init(slotClass: String, total: UInt64, report: (@Sendable (Installer.Progress) -> Void)?) {
        self.slotClass = slotClass
        self.total = total
        self.report = report
    }

    func wrap(_ sink: any ImageSink) -> any ImageSink {
        report == nil ? sink : CountingSink(inner: sink, tracker: self)
    }

    func add(_ count: Int) {
        let now = Date()
        let due: UInt64? = counted.withLock { counted in
            counted.bytes += UInt64(count)
            guard now.timeIntervalSince(counted.lastReport) >= 0.1 else { return nil }
            counted.lastReport = now
            return counted.bytes
        }
        if let due { report?(Installer.Progress(slotClass: slotClass, bytes: due, total: total)) }
    }

    /// The last event of an image: its real size (an undeclared size is known by now).
    func done(size: UInt64) { report?(Installer.Progress(slotClass: slotClass, bytes: size, total: size)) }

    final class CountingSink: ImageSink {
        let inner: any ImageSink
        let tracker: ProgressTracker

        init(inner: any ImageSink, tracker: ProgressTracker) {
            self.inner = inner
            self.tracker = tracker
        }

        func write(_ bytes: UnsafeRawBufferPointer, at offset: UInt64) throws {
            try inner.write(bytes, at: offset)
            tracker.add(bytes.count)
        }
    }
}
