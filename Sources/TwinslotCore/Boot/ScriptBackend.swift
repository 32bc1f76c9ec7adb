/// A backend that delegates to a user command, in the manner of RAUC's custom bootloader
/// backend. The command is run with one verb and its arguments appended:
///
/// | verb | prints | does |
/// | --- | --- | --- |
/// | `get-primary` | the primary slot name | |
/// | `set-primary X` | | X is booted next (and the bootloader's own fallback applies) |
/// | `get-state X` | `good` or `bad` (twinslot also accepts `trial`, `trial-attempted`) | |
/// | `set-state X good\|bad` | | marks X |
/// | `get-current` | the booted slot name | |
///
/// Exit status 0 is success; anything else is an error naming the verb and the command's
/// standard error. Output is trimmed of surrounding white space.
///
/// Mapping: `disable(X)` is `set-state X bad`; `setTrial(X)` is `set-primary X`;
/// `commit(X)` is `set-state X good` then `set-primary X`; `read()` is `get-primary` and
/// `get-state` of each slot, with the primary first in the order.
public struct ScriptBackend: BootBackend {
    public let name: String
    /// The executable and its leading arguments.
    public let command: [String]
    /// The name passed to and expected from the command for each group ("A", "B" by default).
    public let slotNames: [SlotLetter: String]

    public init(command: [String], slotNames: [SlotLetter: String] = [.a: "A", .b: "B"], name: String = "script")
        throws
    {
        guard !command.isEmpty else { throw BootError.config("the boot script command is empty") }
        guard slotNames[.a] != nil, slotNames[.b] != nil, slotNames[.a] != slotNames[.b] else {
            throw BootError.config("the boot script needs two distinct slot names")
        }
        self.command = command
        self.slotNames = slotNames
        self.name = name
    }

    public func read() throws -> BootState {
        let primary = try slot(named: run("get-primary"), verb: "get-primary")
        var slots: [SlotLetter: BootSlotState] = [:]
        for letter in SlotLetter.allCases {
            let output = try run("get-state", slotName(letter))
            switch output {
            case "good": slots[letter] = .good
            case "bad": slots[letter] = .bad
            case "trial": slots[letter] = .trial(attempted: false)
            case "trial-attempted": slots[letter] = .trial(attempted: true)
            default:
                throw BootError.state(
                    "boot script \(command[0]) get-state \(slotName(letter)): unexpected output '\(output)'")
            }
        }
        return BootState(order: [primary, primary.other], slots: slots)
    }

    public func disable(_ group: SlotLetter) throws {
        _ = try run("set-state", slotName(group), "bad")
    }

    public func setTrial(_ group: SlotLetter) throws {
        _ = try run("set-primary", slotName(group))
    }

    public func commit(_ group: SlotLetter) throws {
        _ = try run("set-state", slotName(group), "good")
        _ = try run("set-primary", slotName(group))
    }

    /// The slot the bootloader started (`get-current`).
    public func current() throws -> SlotLetter {
        try slot(named: run("get-current"), verb: "get-current")
    }

    private func slotName(_ letter: SlotLetter) -> String { slotNames[letter] ?? letter.rawValue }

    private func slot(named output: String, verb: String) throws -> SlotLetter {
        guard let letter = SlotLetter.allCases.first(where: { slotNames[$0] == output }) else {
            throw BootError.state("boot script \(command[0]) \(verb): unknown slot '\(output)'")
        }
        return letter
    }

    /// Runs the command with `arguments`; returns its trimmed standard output. Like any other
    /// bootloader tool, it runs without a time limit; its output is bounded (`Subprocess`).
    func run(_ arguments: String...) throws -> String {
        let verb = arguments.joined(separator: " ")
        let result: Subprocess.Result
        do {
            result = try Subprocess.run(
                command + arguments, timeout: .infinity, separateErrors: true, searchPath: false)
        } catch {
            throw BootError.io("boot script \(command[0]) \(verb): cannot start: \(error)")
        }
        guard result.status == 0 else {
            let status = result.status.map { "exit status \($0)" } ?? "signal \(result.signal ?? 0)"
            let errorText = result.errors.trimmingWhitespace()
            throw BootError.io(
                "boot script \(command[0]) \(verb) failed (\(status))" + (errorText.isEmpty ? "" : ": \(errorText)"))
        }
        return result.output.trimmingWhitespace()
    }
}
