import SystemPackage

/// The GRUB backend: RAUC's GRUB scheme on a grubenv block, plus one twinslot marker.
///
/// Variables: `ORDER="A B"` (the order GRUB tries), `X_OK` (1: bootable), `X_TRY` (GRUB sets
/// it to 1 when it starts X, so an unconfirmed boot is not repeated) and `X_TRIAL` (1: X was
/// offered as a trial and not committed yet; GRUB never reads it). grub.cfg (docs/bootloaders.md)
/// boots the first X in ORDER with `X_OK=1` and `X_TRY=0`, after setting `X_TRY=1`.
///
/// Reading, for each slot X:
/// - not in ORDER, or `X_OK` is not 1: `.bad`;
/// - `X_TRIAL=1`: `.trial(attempted: X_TRY != 0)`;
/// - otherwise `X_TRY=0`: `.good`;
/// - otherwise (committed, but GRUB has started it since its last confirmation):
///   `.trial(attempted: true)`: GRUB will not choose it again until `commit` confirms it, which
///   is what the boot service does after its health checks on every boot (RAUC's mark-good).
///
/// Every call is one in-place write of the block, with ORDER and the slot variables first so
/// they sit in the first sector (see `GrubEnvironment`).
public struct GrubBackend: BootBackend {
    public let name: String
    public let path: FilePath
    public let storage: any Storage

    public init(path: FilePath, storage: any Storage, name: String = "grub") {
        self.path = path
        self.storage = storage
        self.name = name
    }

    /// The variables of the scheme, in the order they are kept at the front of the block.
    public static let schemeVariables = [
        "ORDER", "A_OK", "A_TRY", "A_TRIAL", "B_OK", "B_TRY", "B_TRIAL", securityFloorVariable,
    ]

    public func read() throws -> BootState {
        try Self.state(of: GrubEnvironment.read(from: path, storage: storage))
    }

    /// The boot state an environment describes (see the type's documentation).
    public static func state(of env: GrubEnvironment) -> BootState {
        let listed = parseOrder(env["ORDER"])
        var slots: [SlotLetter: BootSlotState] = [:]
        for letter in SlotLetter.allCases {
            let ok = env["\(letter.rawValue)_OK"] == "1"
            let tried = env["\(letter.rawValue)_TRY"] != "0"
            let trial = env["\(letter.rawValue)_TRIAL"] == "1"
            if !listed.contains(letter) || !ok {
                slots[letter] = .bad
            } else if trial {
                slots[letter] = .trial(attempted: tried)
            } else {
                slots[letter] = tried ? .trial(attempted: true) : .good
            }
        }
        let order = listed + SlotLetter.allCases.filter { !listed.contains($0) }
        return BootState(order: order, slots: slots)
    }

    /// The slot letters of an ORDER value, first occurrence kept, unknown words skipped.
    static func parseOrder(_ value: String?) -> [SlotLetter] {
        var order: [SlotLetter] = []
        for word in (value ?? "").split(whereSeparator: { $0 == " " || $0 == "\t" }) {
            if let letter = SlotLetter(rawValue: String(word)), !order.contains(letter) { order.append(letter) }
        }
        return order
    }

    public func disable(_ group: SlotLetter) throws {
        try update { env in
            env["\(group.rawValue)_OK"] = "0"
            env["\(group.rawValue)_TRIAL"] = "0"
        }
    }

    public func setTrial(_ group: SlotLetter) throws {
        try update { env in Self.arm(&env, group, trial: true) }
    }

    public func commit(_ group: SlotLetter) throws {
        try update { env in Self.arm(&env, group, trial: false) }
    }

    public func securityFloor() throws -> UInt64 {
        UInt64(try GrubEnvironment.read(from: path, storage: storage)[securityFloorVariable] ?? "") ?? 0
    }

    public func raiseSecurityFloor(to floor: UInt64) throws {
        guard floor > (try securityFloor()) else { return }
        try update { env in env[securityFloorVariable] = String(floor) }
    }

    private static func arm(_ env: inout GrubEnvironment, _ group: SlotLetter, trial: Bool) {
        env["ORDER"] = "\(group.rawValue) \(group.other.rawValue)"
        env["\(group.rawValue)_OK"] = "1"
        env["\(group.rawValue)_TRY"] = "0"
        env["\(group.rawValue)_TRIAL"] = trial ? "1" : "0"
    }

    /// Read, change, write back in place: one block write.
    private func update(_ change: (inout GrubEnvironment) -> Void) throws {
        var env = try GrubEnvironment.read(from: path, storage: storage)
        change(&env)
        env.moveToFront(Self.schemeVariables)
        try env.write(to: path, storage: storage)
    }

    /// The environment for a freshly provisioned device: `primary` committed and first in ORDER,
    /// the other group not bootable.
    public static func initialEnvironment(primary: SlotLetter) -> GrubEnvironment {
        var env = GrubEnvironment()
        arm(&env, primary, trial: false)
        env["\(primary.other.rawValue)_OK"] = "0"
        env["\(primary.other.rawValue)_TRY"] = "0"
        env["\(primary.other.rawValue)_TRIAL"] = "0"
        env.moveToFront(schemeVariables)
        return env
    }

    /// The 1024-byte block of `initialEnvironment(primary:)`.
    public static func initialBlock(primary: SlotLetter) -> [UInt8] {
        // A handful of short variables always fits the first sector.
        (try? initialEnvironment(primary: primary).serialized()) ?? []
    }

    /// Writes the initial block at `path` (creating the file), synced.
    public static func provision(path: FilePath, primary: SlotLetter, storage: any Storage) throws {
        try initialEnvironment(primary: primary).create(at: path, storage: storage)
    }

    public func provision(primary: SlotLetter) throws {
        try Self.provision(path: path, primary: primary, storage: storage)
    }
}

/// The slot choice of dist/grub/grub.cfg, as a pure function: for each word X of ORDER, if
/// `X_OK` is "1" and `X_TRY` is "0", set `X_TRY=1` (save_env) and boot X. Words other than A
/// and B are skipped, as grub.cfg has no menu entry for them. Variables the environment lacks
/// take grub.cfg's defaults (`defaults`), as they do in GRUB when load_env finds nothing.
public enum GrubBootSelection {
    /// What grub.cfg sets before `load_env`: a missing or damaged grubenv still boots A, then B.
    public static let defaults: [String: String] = [
        "ORDER": "A B", "A_OK": "1", "A_TRY": "0", "A_TRIAL": "0", "B_OK": "1", "B_TRY": "0", "B_TRIAL": "0",
    ]

    /// Selection on a missing or unreadable environment (GRUB's load_env fails, save_env too).
    public static func selectWithoutEnvironment() -> SlotLetter? {
        select(GrubEnvironment()).booted
    }

    public static func select(_ env: GrubEnvironment) -> (booted: SlotLetter?, newEnv: GrubEnvironment) {
        func value(_ name: String) -> String? { env[name] ?? defaults[name] }
        let order = (value("ORDER") ?? "").split(whereSeparator: { $0 == " " || $0 == "\t" })
        for word in order {
            guard let letter = SlotLetter(rawValue: String(word)) else { continue }
            if value("\(letter.rawValue)_OK") == "1" && value("\(letter.rawValue)_TRY") == "0" {
                var next = env
                next["\(letter.rawValue)_TRY"] = "1"
                return (letter, next)
            }
        }
        // Nothing untried: a committed group was started but never confirmed (a power cut
        // during boot, before `twinslot boot` ran). It is still a complete, verified group, so
        // boot the first committed one again rather than nothing. A trial is never retried.
        for word in order {
            guard let letter = SlotLetter(rawValue: String(word)) else { continue }
            if value("\(letter.rawValue)_OK") == "1" && value("\(letter.rawValue)_TRIAL") != "1" {
                var next = env
                next["\(letter.rawValue)_TRY"] = "1"
                return (letter, next)
            }
        }
        return (nil, env)
    }
}

/// The simulated device's bootloader: the GRUB scheme on a plain file.
public struct SimBackend: BootBackend {
    public let grub: GrubBackend
    public var name: String { grub.name }

    public init(path: FilePath, storage: any Storage) {
        grub = GrubBackend(path: path, storage: storage, name: "sim")
    }

    public func read() throws -> BootState { try grub.read() }
    public func disable(_ group: SlotLetter) throws { try grub.disable(group) }
    public func setTrial(_ group: SlotLetter) throws { try grub.setTrial(group) }
    public func commit(_ group: SlotLetter) throws { try grub.commit(group) }
    public func provision(primary: SlotLetter) throws { try grub.provision(primary: primary) }
    public func securityFloor() throws -> UInt64 { try grub.securityFloor() }
    public func raiseSecurityFloor(to floor: UInt64) throws { try grub.raiseSecurityFloor(to: floor) }

    public static func provision(path: FilePath, primary: SlotLetter, storage: any Storage) throws {
        try GrubBackend.provision(path: path, primary: primary, storage: storage)
    }

    /// What GRUB does at power-on: choose a slot by `GrubBootSelection` and save the consumed
    /// try in place. Returns the slot started, or nil when none is bootable.
    public func simulateBoot() throws -> SlotLetter? {
        // A missing or damaged block: GRUB's load_env and save_env fail, grub.cfg's defaults rule.
        guard let env = try? GrubEnvironment.read(from: grub.path, storage: grub.storage) else {
            return GrubBootSelection.selectWithoutEnvironment()
        }
        let (booted, next) = GrubBootSelection.select(env)
        if next != env { try next.write(to: grub.path, storage: grub.storage) }
        return booted
    }
}
