/// `[bootloader]` and its U-Boot environment locations, decoded and checked.
extension ConfigDecoder {
    func decodeBootloader(_ table: TOMLTable, line: Int) throws -> BootloaderConfig {
        var reader = TableReader(table, line: line, keyPrefix: "bootloader.", sourcePath: sourcePath)
        let (backendName, backendValue) = try reader.requiredString("backend")
        let onlyFor = { (backend: String) in "applies only to backend \"\(backend)\", not \"\(backendName)\"" }
        let backend: BootloaderConfig.Backend
        switch backendName {
        case "grub", "sim":
            try reader.forbid("uboot-env", onlyFor("uboot"))
            try reader.forbid("attempts", onlyFor("uboot"))
            try reader.forbid("script", onlyFor("script"))
            if backendName == "grub" {
                backend = .grub(grubenv: try reader.path("grubenv", required: false) ?? BootloaderConfig.defaultGrubenv)
            } else {
                backend = .sim(grubenv: try reader.path("grubenv", required: true)!)
            }
        case "uboot":
            try reader.forbid("grubenv", "applies only to backends \"grub\" and \"sim\", not \"uboot\"")
            try reader.forbid("script", onlyFor("script"))
            let environments = try decodeUBootEnv(&reader)
            // 1...9: the boot script's `setexpr` counts in hexadecimal (UBootBackend).
            let attempts = try reader.integer("attempts", in: 1...9) ?? BootloaderConfig.defaultAttempts
            backend = .uboot(environments: environments, attempts: attempts)
        case "script":
            try reader.forbid("grubenv", "applies only to backends \"grub\" and \"sim\", not \"script\"")
            try reader.forbid("uboot-env", onlyFor("uboot"))
            try reader.forbid("attempts", onlyFor("uboot"))
            backend = .script(command: try reader.path("script", required: true)!)
        default:
            throw reader.error(
                "backend", backendValue,
                "expected \"grub\", \"uboot\", \"script\" or \"sim\", got \(TOMLValue.quoted(backendName))")
        }

        var bootedSlot = BootedSlotSource.cmdline(path: BootloaderConfig.defaultCmdlinePath)
        let bootedSlotSetting = try reader.string("booted-slot")
        if let (text, value) = bootedSlotSetting, text != "cmdline" {
            guard text.hasPrefix("/") else {
                throw reader.error(
                    "booted-slot", value, "expected \"cmdline\" or an absolute file path, got \(TOMLValue.quoted(text))"
                )
            }
            try reader.forbid("cmdline-path", "applies only when booted-slot is \"cmdline\"")
            bootedSlot = .file(path: text)
        } else if let path = try reader.path("cmdline-path", required: false) {
            bootedSlot = .cmdline(path: path)
        }

        let rebootCommand = try reader.stringArray("reboot-command")?.0 ?? BootloaderConfig.defaultRebootCommand
        let bootIDPath = try reader.path("boot-id-path", required: false) ?? BootloaderConfig.defaultBootIDPath
        try reader.rejectUnknown(known: Keys.bootloader)
        return BootloaderConfig(
            backend: backend, bootedSlot: bootedSlot, rebootCommand: rebootCommand, bootIDPath: bootIDPath)
    }

    func decodeUBootEnv(_ reader: inout TableReader) throws -> [UBootEnvironmentLocation] {
        guard let value = reader.value("uboot-env") else { throw reader.missing("uboot-env") }
        let items: [TOMLValue]
        switch value {
        case .string: items = [value]
        case .array(let array, _): items = array
        default: throw reader.wrongType("uboot-env", value, expected: "an array of one or two strings")
        }
        guard (1...2).contains(items.count) else {
            throw reader.error(
                "uboot-env", value,
                "expected one line (single environment) or two (redundant environment), got \(items.count)")
        }
        var locations: [UBootEnvironmentLocation] = []
        for (position, item) in items.enumerated() {
            let what = "\(reader.describe("uboot-env")) line \(position + 1)"
            guard let text = item.stringValue else {
                throw reader.error(item.line, "\(what): expected a string, got \(item.typeDescription)")
            }
            let fields = text.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            guard fields.count == 3 else {
                throw reader.error(
                    item.line, "\(what): expected \"path offset size\", got \(TOMLValue.quoted(text))")
            }
            guard fields[0].hasPrefix("/") else {
                throw reader.error(item.line, "\(what): expected an absolute device or file path, got \"\(fields[0])\"")
            }
            guard let offset = parseSize(fields[1]) else {
                throw reader.error(item.line, "\(what): invalid offset \"\(fields[1])\" (decimal or 0x hex)")
            }
            guard let size = parseSize(fields[2]), size > 0 else {
                throw reader.error(item.line, "\(what): invalid size \"\(fields[2])\" (decimal or 0x hex, above zero)")
            }
            locations.append(UBootEnvironmentLocation(path: fields[0], offset: offset, size: size))
        }
        if locations.count == 2 {
            let (first, second) = (locations[0], locations[1])
            guard first.size == second.size else {
                throw reader.error(
                    "uboot-env", value, "the two copies of a redundant environment must have the same size")
            }
            if first.path == second.path && first.offset < second.offset + second.size
                && second.offset < first.offset + first.size
            {
                throw reader.error("uboot-env", value, "the two copies of the environment overlap")
            }
        }
        return locations
    }

    func parseSize(_ text: String) -> UInt64? {
        if text.hasPrefix("0x") || text.hasPrefix("0X") { return UInt64(text.dropFirst(2), radix: 16) }
        return UInt64(text)
    }

}
