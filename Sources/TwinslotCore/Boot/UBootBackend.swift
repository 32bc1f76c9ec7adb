/// The U-Boot backend: RAUC's U-Boot scheme plus one twinslot marker, in a U-Boot environment.
///
/// Variables: `BOOT_ORDER="A B"` (the order U-Boot tries; a disabled group is removed from it),
/// `BOOT_X_LEFT` (attempts left; the boot script decrements it before starting X) and
/// `BOOT_X_TRIAL` (1: offered as a trial, not committed; U-Boot never reads it).
///
/// Reading, for each slot X:
/// - not in BOOT_ORDER: `.bad`;
/// - `BOOT_X_TRIAL=1`: `.trial(attempted: BOOT_X_LEFT == 0)`;
/// - otherwise `BOOT_X_LEFT > 0`: `.good`;
/// - otherwise (committed, but started `attempts` times without a confirming `commit`):
///   `.trial(attempted: true)`: the first loop of the boot script skips it; if no group has
///   attempts left, the script's last resort boots the first such group of BOOT_ORDER again
///   (`BootState.lastResort`, so `nextBoot` agrees with `UBootBootSelection`).
///
/// Each call changes all its variables in one environment write (`UBootEnvironmentStore`),
/// which is power-safe with the redundant layout.
public struct UBootBackend: BootBackend {
    public let name: String
    public let store: UBootEnvironmentStore
    /// The attempts a committed group gets (`BOOT_X_LEFT` after `commit`), 1...9 (the boot
    /// script's `setexpr` counts in hexadecimal, which matches decimal only for one digit).
    public let attempts: Int

    public init(store: UBootEnvironmentStore, attempts: Int = 3, name: String = "uboot") throws {
        guard (1...9).contains(attempts) else {
            throw BootError.config("U-Boot boot attempts must be between 1 and 9, not \(attempts)")
        }
        self.store = store
        self.attempts = attempts
        self.name = name
    }

    public init(config: UBootEnvironmentConfig, storage: any Storage, attempts: Int = 3) throws {
        try self.init(store: UBootEnvironmentStore(config: config, storage: storage), attempts: attempts)
    }

    public func read() throws -> BootState { Self.state(of: try store.read()) }

    /// The boot state an environment describes (see the type's documentation).
    public static func state(of env: UBootEnvironment) -> BootState {
        let listed = GrubBackend.parseOrder(env["BOOT_ORDER"])
        var slots: [SlotLetter: BootSlotState] = [:]
        for letter in SlotLetter.allCases {
            let left = Int(env["BOOT_\(letter.rawValue)_LEFT"] ?? "") ?? 0
            if !listed.contains(letter) {
                slots[letter] = .bad
            } else if env["BOOT_\(letter.rawValue)_TRIAL"] == "1" {
                slots[letter] = .trial(attempted: left <= 0)
            } else {
                slots[letter] = left > 0 ? .good : .trial(attempted: true)
            }
        }
        // The script's last resort (UBootBootSelection): the first listed group not on trial.
        let lastResort = listed.first { env["BOOT_\($0.rawValue)_TRIAL"] != "1" }
        return BootState(
            order: listed + SlotLetter.allCases.filter { !listed.contains($0) }, slots: slots, lastResort: lastResort)
    }

    public func disable(_ group: SlotLetter) throws {
        try update { env in
            let order = GrubBackend.parseOrder(env["BOOT_ORDER"]).filter { $0 != group }
            env["BOOT_ORDER"] = order.map(\.rawValue).joined(separator: " ")
            env["BOOT_\(group.rawValue)_LEFT"] = "0"
            env["BOOT_\(group.rawValue)_TRIAL"] = "0"
        }
    }

    public func setTrial(_ group: SlotLetter) throws {
        try update { env in Self.arm(&env, group, left: 1, trial: true) }
    }

    public func commit(_ group: SlotLetter) throws {
        try update { env in Self.arm(&env, group, left: attempts, trial: false) }
    }

    public func securityFloor() throws -> UInt64 {
        UInt64(try store.read()[securityFloorVariable] ?? "") ?? 0
    }

    public func raiseSecurityFloor(to floor: UInt64) throws {
        guard floor > (try securityFloor()) else { return }
        try update { env in env[securityFloorVariable] = String(floor) }
    }

    /// U-Boot decrements BOOT_X_LEFT on every start, confirmed or not, so a committed group is
    /// re-armed on each confirmed boot: otherwise it would run out of attempts after `attempts`
    /// good boots and U-Boot would start the other group.
    public func confirm(_ group: SlotLetter) throws {
        let env = try store.read()
        let first = GrubBackend.parseOrder(env["BOOT_ORDER"]).first
        if first == group && env["BOOT_\(group.rawValue)_LEFT"] == String(attempts)
            && env["BOOT_\(group.rawValue)_TRIAL"] == "0"
        {
            return
        }
        try commit(group)
    }

    /// `group` first in BOOT_ORDER; the other group keeps its place only if it was listed.
    private static func arm(_ env: inout UBootEnvironment, _ group: SlotLetter, left: Int, trial: Bool) {
        let rest = GrubBackend.parseOrder(env["BOOT_ORDER"]).filter { $0 != group }
        env["BOOT_ORDER"] = ([group] + rest).map(\.rawValue).joined(separator: " ")
        env["BOOT_\(group.rawValue)_LEFT"] = String(left)
        env["BOOT_\(group.rawValue)_TRIAL"] = trial ? "1" : "0"
    }

    private func update(_ change: (inout UBootEnvironment) -> Void) throws {
        var env = try store.read()
        change(&env)
        try store.write(env)
    }

    /// The variables of a freshly provisioned device: `primary` committed and alone in
    /// BOOT_ORDER. Merge them into the board's default environment.
    public static func initialVariables(primary: SlotLetter, attempts: Int = 3) -> [String: String] {
        [
            "BOOT_ORDER": primary.rawValue,
            "BOOT_\(primary.rawValue)_LEFT": String(attempts),
            "BOOT_\(primary.rawValue)_TRIAL": "0",
            "BOOT_\(primary.other.rawValue)_LEFT": "0",
            "BOOT_\(primary.other.rawValue)_TRIAL": "0",
        ]
    }

    /// Writes the scheme's initial variables over the current environment (or an empty one
    /// when no copy is valid).
    public func provision(primary: SlotLetter) throws {
        try provision(primary: primary, defaults: [:])
    }

    /// The same, over `defaults` (the board's default environment: bootcmd, …) where the
    /// current environment lacks a variable. A blank flash has no valid copy, and an environment
    /// written without bootcmd would leave U-Boot nothing to run.
    ///
    /// With no valid copy (a blank flash, or a copy torn by a power cut inside U-Boot's own
    /// `saveenv` of a single environment) and no `bootcmd` among `defaults`, it refuses: U-Boot
    /// runs on its built-in default environment while no copy is valid, but stops at its prompt
    /// on a valid one without `bootcmd` (checked on the real U-Boot, scripts/uboot-test.sh).
    public func provision(primary: SlotLetter, defaults: [String: String]) throws {
        let current = try store.snapshot().environment
        var env = current ?? UBootEnvironment()
        for (name, value) in defaults where env[name] == nil { env[name] = value }
        if current == nil && env["bootcmd"] == nil {
            let names = store.config.copies.map { "\($0.path)@\($0.offset)" }.joined(separator: ", ")
            throw BootError.state(
                "\(names): no U-Boot environment copy with a valid CRC, and none is written without the "
                    + "board's variables: an environment without bootcmd would stop U-Boot at its prompt, where "
                    + "now it runs its built-in default environment (provision it with `twinslot bootloader "
                    + "init --defaults FILE`)")
        }
        for (name, value) in Self.initialVariables(primary: primary, attempts: attempts) { env[name] = value }
        try store.write(env)
    }
}

/// The slot choice of the U-Boot script in docs/bootloaders.md, as a pure function: the first X
/// of BOOT_ORDER with `BOOT_X_LEFT > 0` has its count decremented and is booted.
public enum UBootBootSelection {
    public static func select(_ env: UBootEnvironment) -> (booted: SlotLetter?, newEnv: UBootEnvironment) {
        for word in (env["BOOT_ORDER"] ?? "").split(separator: " ") {
            guard let letter = SlotLetter(rawValue: String(word)) else { continue }
            let key = "BOOT_\(letter.rawValue)_LEFT"
            let left = Int(env[key] ?? "") ?? 0
            if left > 0 {
                var next = env
                next[key] = String(left - 1)
                return (letter, next)
            }
        }
        // Every listed group used up its attempts unconfirmed (power cuts during boots, before
        // `twinslot boot` ran): boot the first committed one again rather than nothing. A
        // trial is never retried.
        for word in (env["BOOT_ORDER"] ?? "").split(separator: " ") {
            guard let letter = SlotLetter(rawValue: String(word)) else { continue }
            if env["BOOT_\(letter.rawValue)_TRIAL"] != "1" { return (letter, env) }
        }
        return (nil, env)
    }
}
