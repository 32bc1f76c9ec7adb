import Testing

@testable import TwinslotCore

@Suite struct SwuLibConfigTests {
    @Test func parsesTheSubsetSwDescriptionUses() throws {
        let text = """
            # a comment
            // another
            /* a block
               comment */
            software =
            {
                version = "1.0" "-rc1";   // adjacent strings are joined
                escaped = "a\\"b\\\\c\\n\\t\\x41";
                hex = 0x1F;
                big = 42L;
                negative = -3;
                ratio = 2.5;
                flag = TRUE;
                off = false;
                hardware-compatibility: [ "1.0", "1.2" ];
                empty-list = ();
                images: (
                    { filename = "a"; },
                    { filename = "b"; }
                );
                nested: { deeper: { x = 1 } }
                last = "no terminator"
            }
            """
        let root = try LibConfig.parse(text)
        let software = try #require(root["software"])
        #expect(software.line == 5)  // libconfig: the line of the setting's name
        #expect(software["version"]?.stringValue == "1.0-rc1")
        #expect(software["escaped"]?.stringValue == "a\"b\\c\n\tA")
        #expect(software["hex"]?.integerValue == 31)
        #expect(software["big"]?.integerValue == 42)
        #expect(software["negative"]?.integerValue == -3)
        #expect(software["ratio"]?.kind == .float(2.5))
        #expect(software["flag"]?.booleanValue == true)
        #expect(software["off"]?.booleanValue == false)
        #expect(software["hardware-compatibility"]?.elements?.compactMap(\.stringValue) == ["1.0", "1.2"])
        #expect(software["empty-list"]?.kind == .list([]))
        #expect(software["images"]?.elements?.count == 2)
        #expect(software["images"]?.elements?[1]["filename"]?.line == 19)
        #expect(software["nested"]?["deeper"]?["x"]?.integerValue == 1)
        #expect(software["last"]?.stringValue == "no terminator")
    }

    /// libconfig's own messages, with the line and its text; the gate's for what it refuses first.
    @Test(arguments: [
        ("software = { version = \"1\"; version = \"2\"; };", 1, "duplicate setting name near 'software"),
        ("software = {\n  version = \"1.0;\n};", 2, "the string opened on line 2 is never closed"),
        ("software = {\n\n  version 1;\n};", 3, "syntax error near 'version 1;'"),
        ("a = [ 1, \"two\" ];", 1, "mismatched element type in array"),
        ("a = [ { b = 1; } ];", 1, "syntax error"),
        ("a = ( 1, 2 ;", 1, "syntax error near 'a = ( 1, 2 ;'"),
        ("a = bareword;", 1, "syntax error"),
        ("/* never\nclosed", 1, "never closed"),
        ("software = {\n  a = 1;\n", 3, "syntax error at the end of the file"),
        ("@include \"other.cfg\"", 1, "@include"),
        ("a = 99999999999999999999;", 1, "out of range"),
        ("1abc = 2;", 1, "syntax error"),
    ])
    func refusesWithLineNumbers(text: String, line: Int, message: String) {
        do {
            _ = try LibConfig.parse(text)
            Issue.record("parsed: \(text)")
        } catch let error as LibConfigError {
            #expect(error.line == line, "\(error)")
            #expect(error.message.contains(message), "\(error)")
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test func boundsNesting() {
        let deep = String(repeating: "a = {", count: 100) + String(repeating: "};", count: 100)
        #expect(throws: LibConfigError.self) { try LibConfig.parse(deep) }
    }
}

@Suite struct SwuDescriptionTests {
    static let sha = String(repeating: "ab", count: 32)

    static func image(_ file: String, _ device: String, extra: String = "") -> String {
        "{ filename = \"\(file)\"; type = \"raw\"; device = \"\(device)\"; sha256 = \"\(sha)\"; \(extra) }"
    }

    @Test func selectsCopy1ForAAndCopy2ForB() throws {
        let text = """
            software = {
                version = "2.0";
                hardware-compatibility = [ "board-1", "#RE:^rev-[23]$" ];
                twinslot-security-version = 7;
                stable = {
                    copy1 = { images: ( \(Self.image("root.img", "/dev/mmcblk0p2")) ); };
                    copy-2: { images: ( \(Self.image("root.img.zst", "mmcblk0p3", extra: "compressed = \"zstd\"; installed-directly = true;")) ); }
                };
            }
            """
        let a = try SwDescription.parse(Array(text.utf8), board: nil, selection: .group(.a))
        #expect(a.version == "2.0")
        #expect(a.securityVersion == 7)
        #expect(a.images.map(\.target) == ["/dev/mmcblk0p2"])
        #expect(a.images[0].zstd == false)
        let b = try SwDescription.parse(Array(text.utf8), board: nil, selection: .group(.b))
        #expect(b.images.map(\.target) == ["mmcblk0p3"])
        #expect(b.images[0].zstd)
        #expect(b.matchedHardware("board-1") == "board-1")
        #expect(b.matchedHardware("rev-3") == "#RE:^rev-[23]$")
        #expect(b.matchedHardware("rev-4") == nil)
        let all = try SwDescription.parse(Array(text.utf8), board: nil, selection: .all)
        #expect(all.images.map(\.filename) == ["root.img", "root.img.zst"])
    }

    @Test func boardSpecificSettingsComeFirst() throws {
        let text = """
            software = {
                version = "1.0";
                myboard = {
                    hardware-compatibility = [ "myboard" ];
                    stable = {
                        copy1 = { images: ( \(Self.image("board.img", "twinslot:rootfs")) ); };
                        copy2 = { images: ( \(Self.image("board.img", "twinslot:rootfs")) ); };
                    };
                };
                stable = {
                    copy1 = { images: ( \(Self.image("generic.img", "/dev/sda2")) ); };
                    copy2 = { images: ( \(Self.image("generic.img", "/dev/sda3")) ); };
                };
            }
            """
        let mine = try SwDescription.parse(Array(text.utf8), board: "myboard", selection: .group(.b))
        #expect(mine.images.map(\.filename) == ["board.img"])
        #expect(mine.hardwareCompatibility == ["myboard"])
        let other = try SwDescription.parse(Array(text.utf8), board: "otherboard", selection: .group(.b))
        #expect(other.images.map(\.target) == ["/dev/sda3"])
        #expect(other.hardwareCompatibility == nil)
        #expect(other.referencedFilenames == ["board.img", "generic.img"])
    }

    @Test(arguments: [
        ("compressed = \"xz\";", "compression 'xz'"),
        ("compressed = true;", "zlib"),
        ("offset = \"16K\";", "'offset'"),
        ("install-if-different = true;", "install-if-different"),
        ("encrypted = true;", "encrypted"),
    ])
    func refusesUnsupportedImageFeatures(extra: String, message: String) {
        let text = "software = { version = \"1\"; images: ( \(Self.image("a.img", "/dev/sda2", extra: extra)) ); };"
        #expect {
            try SwDescription.parse(Array(text.utf8), board: nil, selection: .group(.a))
        } throws: { error in
            guard let error = error as? SwuError, case .unsupported = error else { return false }
            return error.description.contains(message) && error.failureClass == .badBundle
        }
    }

    @Test(arguments: [
        ("software = { images: ( {} ); };", "no 'version'"),
        ("software = { version = \"1\"; images: ( { filename = \"a\"; device = \"/dev/x\"; } ); };", "no 'sha256'"),
        (
            "software = { version = \"1\"; images: ( { filename = \"a\"; type = \"ubivol\"; volume = \"v\"; sha256 = \"\(sha)\"; } ); };",
            "handler type 'ubivol'"
        ),
        (
            "software = { version = \"1\"; images: ( { filename = \"a\"; device = \"/dev/x\"; sha256 = \"\(sha)\"; colour = 1; } ); };",
            "unknown key 'colour'"
        ),
        (
            "software = { version = \"1\"; images: ( { filename = \"a\"; device = \"/dev/x\"; sha256 = \"12\"; } ); };",
            "not 64 hex"
        ),
        (
            "software = { version = \"1\"; scripts: ( { filename = \"s.sh\"; } ); images: ( { filename = \"a\"; device = \"/dev/x\"; sha256 = \"\(sha)\"; } ); };",
            "'scripts'"
        ),
        ("software = { version = \"1\"; stable = { copy1 = { images: ( ); }; }; };", "no set 'copy2'"),
        ("software = { version = { ref = \"#./v\"; }; v = \"1\"; };", "'ref'"),
        (
            "software = { version = \"1\"; images: ( { filename = \"../a\"; device = \"/dev/x\"; sha256 = \"\(sha)\"; } ); };",
            "unsafe member name"
        ),
        ("version = \"1\";", "no 'software'"),
        ("software = {\n version = \"1\";\n images = ( );\n};", "empty"),
    ])
    func refusesBadDescriptions(text: String, message: String) {
        #expect {
            try SwDescription.parse(Array(text.utf8), board: nil, selection: .group(.b))
        } throws: { error in
            let failureClass = (error as? any ClassifiedError)?.failureClass
            return "\(error)".contains(message) && failureClass == .badBundle
        }
    }
}
