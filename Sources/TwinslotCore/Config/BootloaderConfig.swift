/// The bootloader backend and how the device learns which slot group booted and reboots.
public struct BootloaderConfig: Sendable, Equatable {
    public enum Backend: Sendable, Equatable {
        /// GRUB, through its 1024-byte environment block.
        case grub(grubenv: String)
        /// U-Boot, through its environment (one copy, or two for a redundant environment);
        /// `attempts` is the BOOT_x_LEFT count set on commit.
        case uboot(environments: [UBootEnvironmentLocation], attempts: Int)
        /// An external program implementing the backend commands.
        case script(command: String)
        /// The simulated bootloader (a GRUB-format environment file), for tests and demos.
        case sim(grubenv: String)

        /// "grub", "uboot", "script" or "sim", as written in the file.
        public var name: String {
            switch self {
            case .grub: "grub"
            case .uboot: "uboot"
            case .script: "script"
            case .sim: "sim"
            }
        }
    }

    public static let defaultGrubenv = "/boot/grub/grubenv"
    public static let defaultAttempts = 3
    public static let defaultCmdlinePath = "/proc/cmdline"
    public static let defaultRebootCommand = ["systemctl", "reboot"]
    public static let defaultBootIDPath = "/proc/sys/kernel/random/boot_id"

    public var backend: Backend
    public var bootedSlot: BootedSlotSource
    /// The command (program and arguments) that reboots the device.
    public var rebootCommand: [String]
    /// The file holding an id unique to this boot (the kernel's): what ties an install and a
    /// boot decision to the boot they happened in.
    public var bootIDPath: String

    public init(
        backend: Backend, bootedSlot: BootedSlotSource = .cmdline(path: BootloaderConfig.defaultCmdlinePath),
        rebootCommand: [String] = BootloaderConfig.defaultRebootCommand,
        bootIDPath: String = BootloaderConfig.defaultBootIDPath
    ) {
        self.backend = backend
        self.bootedSlot = bootedSlot
        self.rebootCommand = rebootCommand
        self.bootIDPath = bootIDPath
    }
}

/// One copy of the U-Boot environment, as a line of fw_env.config: `path offset size`.
public struct UBootEnvironmentLocation: Sendable, Equatable {
    /// The device or file holding the environment.
    public var path: String
    /// Byte offset of the environment in `path`.
    public var offset: UInt64
    /// Size of the environment in bytes (CRC and flag byte included).
    public var size: UInt64

    public init(path: String, offset: UInt64, size: UInt64) {
        self.path = path
        self.offset = offset
        self.size = size
    }

    /// The fw_env.config-style line, offsets in hex: "/dev/mmcblk0 0x3f8000 0x4000".
    public var configLine: String {
        "\(path) 0x\(String(offset, radix: 16)) 0x\(String(size, radix: 16))"
    }
}

/// How `twinslot boot` learns which slot group the bootloader started.
public enum BootedSlotSource: Sendable, Equatable {
    /// `twinslot.slot=A` or `twinslot.slot=B` on the kernel command line read from `path`
    /// (normally /proc/cmdline).
    case cmdline(path: String)
    /// A file holding "A" or "B".
    case file(path: String)
}
