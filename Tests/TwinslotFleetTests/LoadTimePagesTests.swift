import Testing
import TwinslotCore

@testable import TwinslotFleet

/// Which mappings `LoadTimePages.release` gives back after loading libcurl, read from an smaps
/// text as bytes (issue 12: parsing it as a `String` was most of the CPU that loading libcurl
/// cost an install).
@Suite struct LoadTimePagesTests {
    static let smaps = """
        7f0000000000-7f0000004000 r--p 00000000 08:01 1001                       /usr/lib/libnew.so.1
        Size:                 16 kB
        Anonymous:             0 kB
        VmFlags: rd mr mw me sd
        7f0000004000-7f0000008000 r--p 00004000 08:01 1001                       /usr/lib/libnew.so.1
        Size:                 16 kB
        Anonymous:             4 kB
        7f0000008000-7f000000c000 rw-p 00008000 08:01 1001                       /usr/lib/libnew.so.1
        Anonymous:             0 kB
        7f000000c000-7f0000010000 r-xp 00000000 08:01 1002                       /usr/lib/libold.so.2
        Anonymous:             0 kB
        7f0000010000-7f0000014000 r--p 00000000 00:00 0 
        Anonymous:             0 kB
        7f0000014000-7f0000018000 r--p 00000000 08:01 1003                       /opt/my dir/libspace.so (deleted)
        Anonymous:             0 kB
        7f0000018000-7f000001c000 r--p 00000000 08:01 1004                       /usr/share/locale.bin
        Anonymous:             0 kB

        """

    @Test func onlyCleanReadOnlyMappingsOfNewlyLoadedLibrariesAreGivenBack() {
        let ranges = LoadTimePages.releasable(smaps: Array(Self.smaps.utf8), keeping: ["/usr/lib/libold.so.2"])
        // Not the RELRO page with private bytes, not the writable one, not the library that
        // was there before, not an anonymous mapping, not a file that is no shared object.
        #expect(ranges == [0x7f00_0000_0000..<0x7f00_0000_4000, 0x7f00_0001_4000..<0x7f00_0001_8000])
    }

    @Test func theMappedFilesAreThePathsAfterTheInode() {
        let files = LoadTimePages.mappedFiles(maps: Array(Self.smaps.utf8))
        #expect(
            files == [
                "/usr/lib/libnew.so.1", "/usr/lib/libold.so.2", "/opt/my dir/libspace.so (deleted)",
                "/usr/share/locale.bin",
            ])
    }

    @Test func thisProcessKeepsEverythingItHadMapped() throws {
        let maps = try #require(ProcFile.read("/proc/self/maps"))
        let smaps = try #require(ProcFile.read("/proc/self/smaps"))
        let before = LoadTimePages.mappedFiles(maps: maps)
        #expect(before.contains { $0.contains(".so") })
        // Nothing was loaded since: nothing to give back, whatever this process has mapped.
        let mappedSinceMaps = LoadTimePages.mappedFiles(maps: smaps).subtracting(before)
        if mappedSinceMaps.isEmpty { #expect(LoadTimePages.releasable(smaps: smaps, keeping: before).isEmpty) }
    }
}
