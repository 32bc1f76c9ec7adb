import Testing

@testable import TwinslotCore

/// `[network]`: the low-speed limit that bounds a download in time (docs/configuration.md).
@Suite struct NetworkConfigTests {
    let minimal = """
        compatible = "x"
        keyring = "/k.pem"
        [bootloader]
        backend = "grub"
        [slots.rootfs]
        type = "raw"
        a = "/dev/sda2"
        b = "/dev/sda3"

        """

    @Test func defaultsWithoutTheTable() throws {
        let config = try SystemConfig.parse(text: minimal)
        #expect(config.network == NetworkConfig(lowSpeedLimit: 1024, lowSpeedTime: .seconds(30)))
        #expect(config.network.lowSpeedSeconds == 30)
    }

    @Test func keysAreReadAndRenderedBack() throws {
        let config = try SystemConfig.parse(
            text: minimal + """
                [network]
                low-speed-limit = 4096
                low-speed-time = "2m"
                """)
        #expect(config.network == NetworkConfig(lowSpeedLimit: 4096, lowSpeedTime: .seconds(120)))
        #expect(try SystemConfig.parse(text: config.renderTOML()) == config)
    }

    @Test(
        arguments: [
            (
                "low-speed-limit = 0",
                "line 10: key 'network.low-speed-limit': expected an integer from 1 to 1073741824, got 0"
            ),
            (
                #"low-speed-time = "1500ms""#,
                #"line 10: key 'network.low-speed-time': expected whole seconds, at least "1s""#
            ),
            (#"low-speed-time = "0s""#, "line 10: key 'network.low-speed-time': must be longer than zero"),
            ("low-speed = 1", "line 10: unknown key 'network.low-speed'; known keys: low-speed-limit, low-speed-time"),
        ])
    func invalidKeysNameKeyAndLine(line: String, message: String) throws {
        let text = minimal + "[network]\n" + line + "\n"
        #expect(throws: ConfigError.self) { try SystemConfig.parse(text: text) }
        do {
            _ = try SystemConfig.parse(text: text)
        } catch let error as ConfigError {
            #expect(error.description == message)
        }
    }
}
