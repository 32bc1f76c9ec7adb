import FuzzSupport
import SystemPackage
import TwinslotCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Journal recovery on arbitrary bytes, as `twinslot boot --early` and every device command run
/// it: the input is `journal`, `journal.snapshot` and `journal.snapshot.2` joined by the
/// separator line below (a seed is real files from a simulated device's data directory; a
/// missing part is a missing file, an empty one an empty file). Besides not crashing, recovery
/// that succeeds must leave a journal that recovers again to the same state with nothing cut,
/// takes a new record, and reads back with it.
let separator = Array("\n==twinslot-fuzz-file==\n".utf8)
let absent = Array("(absent)".utf8)

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJournal(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let parts = FuzzInput.split(FuzzInput.bytes(data, size), separator: separator, count: 3)
    ScratchDirectory.clear()
    for (name, bytes) in zip(["journal", "journal.snapshot", "journal.snapshot.2"], parts) {
        ScratchDirectory.store(name, bytes == absent ? nil : bytes)
    }
    let storage = PosixStorage()
    let directory = FilePath(ScratchDirectory.path)
    do {
        let (readOnly, _) = try Journal.readState(storage: storage, directory: directory)
        let journal = Journal(storage: storage, directory: directory)
        try journal.recover()
        precondition(journal.state == readOnly, "recover() replayed another state than readState()")
        let again = Journal(storage: storage, directory: directory)
        let report = try again.recover()
        precondition(report.cutBytes == 0, "a recovered journal was cut again: \(report)")
        precondition(again.state == journal.state, "a second recovery replayed another state")
        try again.append(.failed(reason: "fuzz", failureClass: "bad-bundle"))
        let third = Journal(storage: storage, directory: directory)
        try third.recover()
        precondition(third.state == again.state, "an appended record did not read back")
    } catch {
        expectClassified(error, [.state], "journal recovery")
    }
    return 0
}

@_cdecl("fuzz_journal_main")
public func fuzz_journalMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    runFuzzer(argc, argv, fuzzJournal)
}
