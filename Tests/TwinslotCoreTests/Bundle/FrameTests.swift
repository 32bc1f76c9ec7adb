import CZstd
import Foundation
import Testing

@testable import TwinslotCore

/// Images are written as independent zstd frames of `frameSize` uncompressed bytes each, so an
/// install can resume at a frame boundary; the reader takes the concatenation as one stream.
@Suite struct FrameTests {
    /// The uncompressed size of each frame in a member, as its headers declare them.
    static func frameSizes(_ member: [UInt8]) -> [UInt64] {
        var sizes: [UInt64] = []
        member.withUnsafeBytes { bytes in
            var offset = 0
            while offset < bytes.count {
                let frame = UnsafeRawBufferPointer(rebasing: bytes[offset...])
                let length = ZSTD_findFrameCompressedSize(frame.baseAddress, frame.count)
                guard ZSTD_isError(length) == 0, length > 0 else {
                    sizes.append(.max)
                    return
                }
                sizes.append(ZSTD_getFrameContentSize(frame.baseAddress, frame.count))
                offset += length
            }
        }
        return sizes
    }

    @Test(arguments: [0, 1, 65536, 65537, 3 * 65536, 3 * 65536 + 100])
    func imagesAreFramesOfTheFrameSize(size: Int) throws {
        let directory = Fixtures.temporaryDirectory("frames")
        let image = Fixtures.imageBytes(count: size, seed: 3)
        Fixtures.write(image, to: directory + "/rootfs.img")
        var writer = BundleWriter(
            compatible: "test-board", version: "1", securityVersion: 1,
            images: [.init(slotClass: "rootfs", path: directory + "/rootfs.img")])
        writer.frameSize = 65536
        try writer.write(to: directory + "/b.tsb", signing: .identity(try Fixtures.signer()))

        let parts = try BundleParts.split(directory + "/b.tsb", directory: directory)
        var expected = Array(repeating: UInt64(65536), count: size / 65536)
        if size % 65536 != 0 || size == 0 { expected.append(UInt64(size % 65536)) }
        #expect(Self.frameSizes(parts.images[0].data) == expected)

        let out = directory + "/out"
        _ = try BundleExtractor.extract(bundle: directory + "/b.tsb", keyring: try Fixtures.keyring(), into: out)
        #expect(Fixtures.read(out + "/rootfs.img") == image)
    }

    @Test func theDefaultFrameIs32MiB() {
        #expect(BundleWriter.defaultFrameSize == 32 << 20)
    }
}
