import TwinslotCore

#if canImport(Glibc)
    import Glibc
#endif

/// A bundle's bytes held in memory, read the way a file or an HTTP stream is: in pieces whose
/// size the input chooses (a reader must not depend on how its source splits the stream).
public final class MemoryByteSource: ByteSource {
    public let name = "fuzz-input"
    private let bytes: [UInt8]
    private var offset = 0
    private let chunk: Int

    public init(_ bytes: [UInt8], chunk: Int = 1 << 16) {
        self.bytes = bytes
        self.chunk = max(1, chunk)
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let count = min(buffer.count, chunk, bytes.count - offset)
        guard count > 0 else { return 0 }
        bytes.withUnsafeBytes { source in
            buffer.baseAddress!.copyMemory(from: source.baseAddress! + offset, byteCount: count)
        }
        offset += count
        return count
    }
}

/// The fuzz input as an array, and its parts: a harness that needs several files (a journal
/// and its two snapshots) splits one input at a separator line, so a seed is still a plain
/// concatenation of real files that libFuzzer can mutate.
public enum FuzzInput {
    public static func bytes(_ data: UnsafePointer<UInt8>?, _ size: Int) -> [UInt8] {
        guard let data, size > 0 else { return [] }
        return Array(UnsafeBufferPointer(start: data, count: size))
    }

    /// Splits at every occurrence of `separator`, giving exactly `count` parts (missing ones empty,
    /// extra separators left inside the last part).
    public static func split(_ bytes: [UInt8], separator: [UInt8], count: Int) -> [[UInt8]] {
        var parts: [[UInt8]] = []
        var start = 0
        var index = 0
        while parts.count < count - 1, index + separator.count <= bytes.count {
            if bytes[index..<(index + separator.count)].elementsEqual(separator) {
                parts.append(Array(bytes[start..<index]))
                index += separator.count
                start = index
            } else {
                index += 1
            }
        }
        parts.append(Array(bytes[start...]))
        while parts.count < count { parts.append([]) }
        return parts
    }

    /// The keyring seeds are signed with (`TWINSLOT_FUZZ_KEYRING`, a PEM file; scripts/fuzz.sh
    /// points it at fixtures/fuzz/keyring.pem), read once. Nil when unset: only the unverified
    /// path (`bundle info`) is then fuzzed.
    public static let keyring: Keyring? = {
        guard let path = getenv("TWINSLOT_FUZZ_KEYRING").map({ String(cString: $0) }), !path.isEmpty else {
            return nil
        }
        do {
            return try Keyring(contentsOf: path)
        } catch {
            fatalError("TWINSLOT_FUZZ_KEYRING=\(path): \(error)")
        }
    }()
}

/// The property every target checks besides "does not crash": refused input is refused with an
/// error of a documented failure class (docs/cli.md), never an unclassified one (exit 1,
/// "internal"), and of a class that fits the input (a bad bundle is not an I/O error).
public func expectClassified(_ error: any Error, _ allowed: Set<FailureClass>, _ what: String) {
    guard let classified = error as? any ClassifiedError else {
        fatalError("\(what): unclassified error (exit 1): \(type(of: error)): \(error)")
    }
    guard allowed.contains(classified.failureClass) else {
        fatalError(
            "\(what): error of class \(classified.failureClass.rawValue), expected one of \(allowed.map(\.rawValue).sorted()): \(classified)"
        )
    }
}

/// A scratch directory for harnesses that go through `Storage` (journal, U-Boot environment):
/// under $TMPDIR (scripts/fuzz.sh points it at /dev/shm when it can), one per process, emptied
/// for each input.
public enum ScratchDirectory {
    public static let path: String = {
        let base = getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp"
        let path = "\(base)/twinslot-fuzz-\(getpid())"
        mkdir(path, 0o700)
        return path
    }()

    /// Removes every file the previous input left.
    public static func clear() {
        guard let dir = opendir(path) else { return }
        defer { closedir(dir) }
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(cString: raw.bindMemory(to: CChar.self).baseAddress!)
            }
            if name != "." && name != ".." { unlink("\(path)/\(name)") }
        }
    }

    /// Writes `bytes` as `name` in the directory (no file when `bytes` is nil).
    public static func store(_ name: String, _ bytes: [UInt8]?) {
        guard let bytes else { return }
        let fd = open("\(path)/\(name)", O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        precondition(fd >= 0, "cannot create \(path)/\(name)")
        var written = 0
        while written < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + written, bytes.count - written) }
            precondition(n > 0, "cannot write \(path)/\(name)")
            written += n
        }
        close(fd)
    }
}

/// Reads a bundle as `bundle verify` does (BundleVerifyCommand): the signed description, then
/// every image through the pipeline, a directory image walked by the extraction rules. Images
/// are capped at 16 MiB decoded so a declared size of terabytes is a quick refusal, not a
/// libFuzzer timeout.
public func verifyWhole(_ reader: any BundleSource, keyring: Keyring?) throws {
    _ = try reader.readManifest(keyring: keyring)
    while let image = try reader.nextImage() {
        let tarCheck = image.content == .tar ? ImageTarCheckSink(member: image.member) : nil
        try reader.streamImage(image, into: tarCheck, limit: 1 << 24)
        try tarCheck?.finish()
    }
}

/// The signature of `LLVMFuzzerTestOneInput`.
public typealias FuzzTarget = @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32

@_silgen_name("LLVMFuzzerRunDriver")
private func llvmFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<Int32>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ target: FuzzTarget
) -> Int32

/// Runs libFuzzer's driver on `target`. SwiftPM links an executable target with
/// `--defsym main=<module>_main` (its testable-executable scheme), so each target defines that
/// symbol and hands over to libFuzzer here instead of relying on libFuzzer's own `main`.
public func runFuzzer(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?, _ target: FuzzTarget)
    -> Int32
{
    var count = argc
    var vector = argv
    return llvmFuzzerRunDriver(&count, &vector, target)
}
