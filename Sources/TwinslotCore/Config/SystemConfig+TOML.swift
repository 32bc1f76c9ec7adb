extension SystemConfig {
    /// The configuration as a `system.toml` document, every setting written out (defaults
    /// included). `SystemConfig.parse(text: config.renderTOML())` gives back an equal configuration.
    public func renderTOML() -> String {
        let q = TOMLValue.quoted
        func array(_ strings: [String]) -> String { "[" + strings.map(q).joined(separator: ", ") + "]" }
        var lines = [
            "# twinslot system configuration (see docs/configuration.md)",
            "compatible = \(q(compatible))",
            "data-directory = \(q(dataDirectory))",
            "keyring = \(q(keyring))",
            "",
            "[bootloader]",
            "backend = \(q(bootloader.backend.name))",
        ]
        switch bootloader.backend {
        case .grub(let grubenv), .sim(let grubenv):
            lines.append("grubenv = \(q(grubenv))")
        case .uboot(let environments, let attempts):
            lines.append("uboot-env = \(array(environments.map(\.configLine)))")
            lines.append("attempts = \(attempts)")
        case .script(let command):
            lines.append("script = \(q(command))")
        }
        switch bootloader.bootedSlot {
        case .cmdline(let path):
            lines.append("booted-slot = \"cmdline\"")
            lines.append("cmdline-path = \(q(path))")
        case .file(let path):
            lines.append("booted-slot = \(q(path))")
        }
        lines.append("reboot-command = \(array(bootloader.rebootCommand))")
        if bootloader.bootIDPath != BootloaderConfig.defaultBootIDPath {
            lines.append("boot-id-path = \(q(bootloader.bootIDPath))")
        }
        lines += [
            "",
            "[security]",
            "anti-rollback = \(security.antiRollback)",
            "allow-same-version = \(security.allowSameVersion)",
            "allow-older-version = \(security.allowOlderVersion)",
        ]
        for slot in slotClasses {
            lines += [
                "",
                "[slots.\(TOMLValue.renderKey(slot.name))]",
                "type = \(q(slot.type.rawValue))",
                "a = \(q(slot.a))",
                "b = \(q(slot.b))",
            ]
            if let current = slot.current { lines.append("current = \(q(current))") }
        }
        lines += ["", "[health]", "deadline-boots = \(health.deadlineBoots)"]
        if let deadline = health.deadline { lines.append("deadline = \(q(deadline.configText))") }
        for check in health.checks {
            lines += ["", "[[health.check]]", "name = \(q(check.name))", "kind = \(q(check.kind.name))"]
            switch check.kind {
            case .command(let command): lines.append("command = \(array(command))")
            case .file(let path), .socket(let path): lines.append("target = \(q(path))")
            case .tcp(let host, let port):
                lines.append("target = \(q(host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"))")
            case .http(let url): lines.append("target = \(q(url))")
            case .systemd(let unit): lines.append("target = \(q(unit))")
            }
            lines += [
                "timeout = \(q(check.timeout.configText))",
                "required = \(check.required)",
                "retries = \(check.retries)",
                "retry-delay = \(q(check.retryDelay.configText))",
            ]
        }
        lines += [
            "", "[reporting]", "hooks-directory = \(q(reporting.hooksDirectory))",
            "hook-failure = \(q(reporting.hookFailure.rawValue))", "reports-kept = \(reporting.reportsKept)",
        ]
        if let textfile = reporting.metricsTextfile { lines.append("metrics-textfile = \(q(textfile))") }
        lines += [
            "", "[network]", "low-speed-limit = \(network.lowSpeedLimit)",
            "low-speed-time = \(q(network.lowSpeedTime.configText))",
        ]
        return lines.joined(separator: "\n") + "\n"
    }
}
