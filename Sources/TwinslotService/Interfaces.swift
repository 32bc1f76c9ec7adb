/// The two interfaces' shapes: method arguments, properties and signals, from which the
/// introspection XML is generated, so what `busctl introspect` shows is what the dispatcher
/// accepts (a call with another signature is refused with InvalidArgs before any handler).
struct InterfaceSpec {
    struct Method {
        var name: String
        var arguments: [(name: String, type: String)]
        var results: [(name: String, type: String)]
        var inputSignature: String { arguments.map(\.type).joined() }
    }

    var name: String
    var methods: [Method]
    var properties: [(name: String, type: String)]
    var signals: [(name: String, arguments: [(name: String, type: String)])]

    func method(_ name: String) -> Method? { methods.first { $0.name == name } }

    var xml: String {
        var text = "  <interface name=\"\(name)\">\n"
        for method in methods {
            text += "    <method name=\"\(method.name)\">\n"
            for argument in method.arguments {
                text += "      <arg name=\"\(argument.name)\" type=\"\(argument.type)\" direction=\"in\"/>\n"
            }
            for result in method.results {
                text += "      <arg name=\"\(result.name)\" type=\"\(result.type)\" direction=\"out\"/>\n"
            }
            text += "    </method>\n"
        }
        for property in properties {
            text += "    <property name=\"\(property.name)\" type=\"\(property.type)\" access=\"read\">\n"
            text += "      <annotation name=\"org.freedesktop.DBus.Property.EmitsChangedSignal\" value=\"true\"/>\n"
            text += "    </property>\n"
        }
        for signal in signals {
            text += "    <signal name=\"\(signal.name)\">\n"
            for argument in signal.arguments {
                text += "      <arg name=\"\(argument.name)\" type=\"\(argument.type)\"/>\n"
            }
            text += "    </signal>\n"
        }
        return text + "  </interface>\n"
    }

    static let installer = InterfaceSpec(
        name: "io.twinslot.Installer1",
        methods: [
            Method(
                name: "Install", arguments: [("source", "s"), ("options", "a{sv}")], results: [("operation_id", "s")]),
            Method(name: "Inspect", arguments: [("source", "s")], results: [("info", "a{sv}")]),
            Method(name: "GetSlotStatus", arguments: [], results: [("status", "a{sv}")]),
            Method(name: "Mark", arguments: [("state", "s"), ("slot", "s")], results: [("message", "s")]),
        ],
        properties: [
            ("Operation", "s"), ("Phase", "s"), ("Progress", "(istt)"), ("LastError", "s"),
            ("CurrentOperationID", "s"), ("LastResult", "(iss)"), ("BootSlot", "s"), ("Primary", "s"),
            ("Compatible", "s"), ("Version", "s"),
        ],
        signals: [
            ("Progress", [("percent", "i"), ("phase", "s"), ("bytes", "t"), ("total", "t")]),
            ("Completed", [("exit_code", "i"), ("message", "s"), ("operation_id", "s")]),
        ])

    /// RAUC's `de.pengutronix.rauc.Installer` (its src/rauc-installer.xml), for scripts written
    /// against RAUC; docs/operations.md maps each member to twinslot's.
    static let rauc = InterfaceSpec(
        name: "de.pengutronix.rauc.Installer",
        methods: [
            Method(name: "InstallBundle", arguments: [("source", "s"), ("args", "a{sv}")], results: []),
            Method(name: "Install", arguments: [("source", "s")], results: []),
            Method(
                name: "Info", arguments: [("bundle", "s")], results: [("compatible", "s"), ("version", "s")]),
            Method(
                name: "InspectBundle", arguments: [("source", "s"), ("args", "a{sv}")], results: [("info", "a{sv}")]),
            Method(
                name: "Mark", arguments: [("state", "s"), ("slot_identifier", "s")],
                results: [("slot_name", "s"), ("message", "s")]),
            Method(name: "GetSlotStatus", arguments: [], results: [("slot_status_array", "a(sa{sv})")]),
            Method(name: "GetPrimary", arguments: [], results: [("primary", "s")]),
        ],
        properties: [
            ("Operation", "s"), ("LastError", "s"), ("Progress", "(isi)"), ("Compatible", "s"), ("Variant", "s"),
            ("BootSlot", "s"),
        ],
        signals: [("Completed", [("result", "i")])])

    static let standard = """
          <interface name="org.freedesktop.DBus.Introspectable">
            <method name="Introspect"><arg name="xml" type="s" direction="out"/></method>
          </interface>
          <interface name="org.freedesktop.DBus.Properties">
            <method name="Get">
              <arg name="interface" type="s" direction="in"/><arg name="property" type="s" direction="in"/>
              <arg name="value" type="v" direction="out"/>
            </method>
            <method name="GetAll">
              <arg name="interface" type="s" direction="in"/><arg name="properties" type="a{sv}" direction="out"/>
            </method>
            <signal name="PropertiesChanged">
              <arg name="interface" type="s"/><arg name="changed" type="a{sv}"/><arg name="invalidated" type="as"/>
            </signal>
          </interface>

        """

    static func document(_ spec: InterfaceSpec, children: [String]) -> String {
        "<!DOCTYPE node PUBLIC \"-//freedesktop//DTD D-BUS Object Introspection 1.0//EN\"\n"
            + " \"http://www.freedesktop.org/standards/dbus/1.0/introspect.dtd\">\n<node>\n" + standard + spec.xml
            + children.map { "  <node name=\"\($0)\"/>\n" }.joined() + "</node>\n"
    }
}
