#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

#if canImport(Glibc)
    import Glibc
#endif

/// The time at which certificate validity and CRL freshness are judged.
///
/// Many boards have no battery-backed clock: they boot in 1970 (or at the last time the kernel
/// saved) until NTP answers, if it ever does. Checked at that time, every signer is "not yet
/// valid" and a device that is offline until updated can never be updated. Checked at the time
/// the signature claims (RAUC's `use-bundle-signing-time`), expiry stops bounding anything: the
/// signing-time attribute is chosen by whoever holds the key, so a stolen key backdates it and
/// signs forever. twinslot takes the newest of the device clock and a floor: the build time of
/// the running image. A clock that reset can move the check back no earlier than the day the
/// running image was built, so a signer that had expired by then is refused whatever the clock
/// says, and every installed update moves the floor forward (docs/bundle-format.md).
public struct TrustTime: Sendable, Equatable {
    /// The device clock's reading to use; nil reads the clock at each verification. Tests set
    /// it to simulate a wrong clock without touching the system's.
    public var clock: Date?
    /// The earliest time a check may use: the build time of the running image.
    public var floor: Date

    public init(clock: Date? = nil, floor: Date) {
        self.clock = clock
        self.floor = floor
    }

    /// The device's policy: its clock, floored at the running image's build time.
    public static var device: TrustTime { TrustTime(floor: imageBuildTime()) }

    /// The release time of this source, 2026-12-01T00:00:00Z: the floor when the image says
    /// nothing better. Bumped with each release, beside `TwinslotVersion.current`; it may only
    /// be earlier than the day a binary is built, never later.
    public static let releaseTime = Date(timeIntervalSince1970: 1_796_083_200)

    /// systemd's image epoch: image builders stamp this file's modification time with the build
    /// time, and systemd advances a clock that is behind it at boot. It lives in the read-only
    /// image, so only an update moves it.
    public static let clockEpochPath = "/usr/lib/clock-epoch"

    /// The newest of `releaseTime` and the modification time of `clockEpoch` (when it exists).
    public static func imageBuildTime(clockEpoch: String = clockEpochPath) -> Date {
        var info = stat()
        guard stat(clockEpoch, &info) == 0 else { return releaseTime }
        let stamp = Date(timeIntervalSince1970: TimeInterval(info.st_mtim.tv_sec))
        return max(releaseTime, stamp)
    }

    /// The time a verification uses now, and whether the floor replaced the clock's reading.
    public func resolve() -> (time: Date, floored: Bool) {
        let reading = clock ?? Date()
        return reading < floor ? (floor, true) : (reading, false)
    }
}
