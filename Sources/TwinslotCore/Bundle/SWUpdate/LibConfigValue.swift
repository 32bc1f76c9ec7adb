/// A value of a libconfig document (the syntax of SWUpdate's `sw-description`), with the line it
/// starts on so that errors can point at it.
public struct LibConfigValue: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// `{ name = value; … }`: named settings, in file order, names unique.
        case group([LibConfigSetting])
        /// `( value, … )`: values of any kind.
        case list([LibConfigValue])
        /// `[ scalar, … ]`: scalars of one kind.
        case array([LibConfigValue])
        case string(String)
        case integer(Int64)
        case float(Double)
        case boolean(Bool)
    }

    public var kind: Kind
    public var line: Int

    public init(_ kind: Kind, line: Int) {
        self.kind = kind
        self.line = line
    }

    /// The setting `name` of a group, nil if absent or not a group.
    public subscript(name: String) -> LibConfigValue? {
        guard case .group(let settings) = kind else { return nil }
        return settings.first { $0.name == name }?.value
    }

    public var stringValue: String? {
        if case .string(let text) = kind { return text }
        return nil
    }

    public var integerValue: Int64? {
        if case .integer(let number) = kind { return number }
        return nil
    }

    public var booleanValue: Bool? {
        if case .boolean(let flag) = kind { return flag }
        return nil
    }

    /// The elements of a list or an array.
    public var elements: [LibConfigValue]? {
        switch kind {
        case .list(let values), .array(let values): values
        default: nil
        }
    }

    public var settings: [LibConfigSetting]? {
        if case .group(let settings) = kind { return settings }
        return nil
    }

    /// "a string", "a group", …, for messages.
    public var typeDescription: String {
        switch kind {
        case .group: "a group"
        case .list: "a list"
        case .array: "an array"
        case .string: "a string"
        case .integer: "an integer"
        case .float: "a float"
        case .boolean: "a boolean"
        }
    }
}

public struct LibConfigSetting: Sendable, Equatable {
    public var name: String
    public var value: LibConfigValue
}

public struct LibConfigError: Error, Sendable, Equatable, CustomStringConvertible {
    public var line: Int
    public var message: String
    public var description: String { "line \(line): \(message)" }
}
