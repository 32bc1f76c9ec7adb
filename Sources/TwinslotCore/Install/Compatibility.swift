/// Whether a manifest fits a device: the same compatible string, and for every image a slot
/// class the device has, of the kind the image is made for. Checked before anything is written.
public struct DeviceProfile: Sendable, Equatable {
    public var compatible: String
    /// For each slot class of the device, the image content its slots take.
    public var slotContent: [String: Manifest.Content]

    public init(compatible: String, slotContent: [String: Manifest.Content]) {
        self.compatible = compatible
        self.slotContent = slotContent
    }

    public func check(_ manifest: Manifest) throws {
        guard manifest.compatible == compatible else {
            throw BundleError.incompatible(expected: compatible, found: manifest.compatible)
        }
        for image in manifest.images {
            guard let content = slotContent[image.slotClass] else {
                throw BundleError.unknownSlotClass(image.slotClass, known: slotContent.keys.sorted())
            }
            guard content == image.content else {
                throw BundleError.slotContentMismatch(
                    slotClass: image.slotClass, slotType: content == .raw ? "raw" : "directory",
                    content: image.content.rawValue)
            }
        }
    }
}
