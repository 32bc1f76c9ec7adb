import Testing

@testable import TwinslotCore

/// Parses `text`, expecting a ConfigError; returns it.
private func parseError(_ text: String, sourcePath: String? = "test.toml") -> ConfigError? {
    do {
        _ = try TOMLParser.parse(text, sourcePath: sourcePath)
        return nil
    } catch let error as ConfigError {
        return error
    } catch {
        return nil
    }
}

@Suite("Config: TOML parser")
struct ConfigTOMLParserTests {
    @Test func commentsAndBlankLines() throws {
        let table = try TOMLParser.parse(
            """
            # a comment

               # indented comment
            key = "value" # trailing comment
            \t
            """)
        #expect(table.keys == ["key"])
        #expect(table["key"] == .string("value", line: 4))
    }

    @Test func emptyDocument() throws {
        #expect(try TOMLParser.parse("").isEmpty)
        #expect(try TOMLParser.parse("# only a comment").isEmpty)
    }

    @Test func bareAndQuotedKeys() throws {
        let table = try TOMLParser.parse(
            """
            bare_key-1 = 1
            "quoted key" = 2
            'literal.key' = 3
            "" = 4
            1234 = 5
            """)
        #expect(table.keys == ["bare_key-1", "quoted key", "literal.key", "", "1234"])
        #expect(table["literal.key"]?.integerValue == 3)
    }

    @Test func dottedKeys() throws {
        let table = try TOMLParser.parse(
            """
            site . "google.com" = true
            a.b.c = 1
            a.b.d = 2
            a.e = 3
            """)
        #expect(table["site"]?.tableValue?["google.com"]?.boolValue == true)
        let a = try #require(table["a"]?.tableValue)
        #expect(a.keys == ["b", "e"])
        #expect(a["b"]?.tableValue?.keys == ["c", "d"])
        #expect(a["b"]?.tableValue?["d"] == .integer(2, line: 3))
    }

    @Test func tablesAndSubtables() throws {
        let table = try TOMLParser.parse(
            """
            top = 1
            [server]
            host = "h"
            [server.tls]
            cert = "c"
            [ "quoted" . bare ]
            x = 1
            """)
        #expect(table.keys == ["top", "server", "quoted"])
        let server = try #require(table["server"])
        #expect(server.line == 2)
        #expect(server.tableValue?["tls"]?.tableValue?["cert"]?.stringValue == "c")
        #expect(server.tableValue?.entry(for: "tls")?.line == 4)
        #expect(table["quoted"]?.tableValue?["bare"]?.tableValue?["x"]?.integerValue == 1)
    }

    @Test func superTableDefinedAfterSubtable() throws {
        let table = try TOMLParser.parse(
            """
            [a.b]
            x = 1
            [a]
            y = 2
            """)
        let a = try #require(table["a"]?.tableValue)
        #expect(a.keys == ["b", "y"])
        #expect(table["a"]?.line == 3)
    }

    @Test func headerUnderDottedKeyTable() throws {
        let table = try TOMLParser.parse(
            """
            [fruit]
            apple.color = "red"
            [fruit.apple.texture]
            smooth = true
            """)
        let apple = try #require(table["fruit"]?.tableValue?["apple"]?.tableValue)
        #expect(apple.keys == ["color", "texture"])
    }

    @Test func arrayOfTables() throws {
        let table = try TOMLParser.parse(
            """
            [[health.check]]
            name = "one"
            [[health.check]]
            name = "two"
            [health.check.sub]
            x = 1
            [health]
            deadline = "10m"
            """)
        let health = try #require(table["health"]?.tableValue)
        #expect(health.keys == ["check", "deadline"])
        let checks = try #require(health["check"]?.arrayValue)
        #expect(checks.count == 2)
        #expect(checks[0].line == 1)
        #expect(checks[1].line == 3)
        #expect(checks[1].tableValue?["name"] == .string("two", line: 4))
        #expect(checks[1].tableValue?["sub"]?.tableValue?["x"]?.integerValue == 1)
        #expect(checks[0].tableValue?["sub"] == nil)
    }

    @Test func basicStringEscapes() throws {
        let table = try TOMLParser.parse(
            #"""
            s = "quote \" backslash \\ newline \n tab \t unicode \u00E9 \U0001F600 cr \r bs \b ff \f"
            """#)
        #expect(
            table["s"]?.stringValue
                == "quote \" backslash \\ newline \n tab \t unicode é 😀 cr \r bs \u{08} ff \u{0C}")
    }

    @Test func literalStrings() throws {
        let table = try TOMLParser.parse(
            #"""
            path = 'C:\Users\nodejs\templates'
            quoted = '<\i\c*\s*>'
            """#)
        #expect(table["path"]?.stringValue == #"C:\Users\nodejs\templates"#)
        #expect(table["quoted"]?.stringValue == #"<\i\c*\s*>"#)
    }

    @Test func multiLineBasicStrings() throws {
        let table = try TOMLParser.parse(
            #"""
            a = """
            Roses are red
            Violets are blue"""
            b = """\
                The quick \
                brown fox."""
            c = """Here are two quotation marks: "". Simple."""
            d = """ends with a quote""""
            next = 1
            """#)
        #expect(table["a"]?.stringValue == "Roses are red\nViolets are blue")
        #expect(table["a"]?.line == 1)
        #expect(table["b"]?.stringValue == "The quick brown fox.")
        #expect(table["c"]?.stringValue == #"Here are two quotation marks: "". Simple."#)
        #expect(table["d"]?.stringValue == #"ends with a quote""#)
        #expect(table["next"] == .integer(1, line: 9))
    }

    @Test func multiLineLiteralStrings() throws {
        let table = try TOMLParser.parse(
            #"""
            re = '''I [dw]on't need \d{2} apples'''
            lines = '''
            first
              second
            '''
            """#)
        #expect(table["re"]?.stringValue == #"I [dw]on't need \d{2} apples"#)
        #expect(table["lines"]?.stringValue == "first\n  second\n")
    }

    @Test func integers() throws {
        let table = try TOMLParser.parse(
            """
            a = 42
            b = +17
            c = -17
            d = 0
            e = 1_000_000
            f = 0xDEAD_beef
            g = 0o755
            h = 0b1101
            i = 9223372036854775807
            j = -9223372036854775808
            """)
        #expect(table["a"]?.integerValue == 42)
        #expect(table["b"]?.integerValue == 17)
        #expect(table["c"]?.integerValue == -17)
        #expect(table["d"]?.integerValue == 0)
        #expect(table["e"]?.integerValue == 1_000_000)
        #expect(table["f"]?.integerValue == 0xDEAD_BEEF)
        #expect(table["g"]?.integerValue == 0o755)
        #expect(table["h"]?.integerValue == 13)
        #expect(table["i"]?.integerValue == Int64.max)
        #expect(table["j"]?.integerValue == Int64.min)
    }

    @Test func floats() throws {
        let table = try TOMLParser.parse(
            """
            a = 1.5
            b = -0.25
            c = 5e+2
            d = 6.626e-34
            e = 1_000.5
            f = inf
            g = -inf
            """)
        #expect(table["a"]?.floatValue == 1.5)
        #expect(table["b"]?.floatValue == -0.25)
        #expect(table["c"]?.floatValue == 500)
        #expect(table["d"]?.floatValue == 6.626e-34)
        #expect(table["e"]?.floatValue == 1000.5)
        #expect(table["f"]?.floatValue == .infinity)
        #expect(table["g"]?.floatValue == -.infinity)
    }

    @Test func booleans() throws {
        let table = try TOMLParser.parse("t = true\nf = false")
        #expect(table["t"] == .bool(true, line: 1))
        #expect(table["f"] == .bool(false, line: 2))
    }

    @Test func arrays() throws {
        let table = try TOMLParser.parse(
            """
            empty = []
            ints = [1, 2, 3]
            multi = [
              "a",  # comment
              "b",

              "c",
            ]
            nested = [[1, 2], ["x"]]
            mixed = [1, "two", { three = 3 }]
            after = true
            """)
        #expect(table["empty"]?.arrayValue == [])
        #expect(table["ints"]?.arrayValue?.compactMap(\.integerValue) == [1, 2, 3])
        let multi = try #require(table["multi"]?.arrayValue)
        #expect(multi.compactMap(\.stringValue) == ["a", "b", "c"])
        #expect(multi.map(\.line) == [4, 5, 7])
        #expect(table["multi"]?.line == 3)
        #expect(table["nested"]?.arrayValue?[1].arrayValue?.first?.stringValue == "x")
        #expect(table["mixed"]?.arrayValue?[2].tableValue?["three"]?.integerValue == 3)
        #expect(table["after"]?.line == 11)
    }

    @Test func inlineTables() throws {
        let table = try TOMLParser.parse(
            """
            point = { x = 1, y = 2 }
            empty = {}
            nested = { a.b = "c", d = { e = 1 } }
            list = [{ name = "one" }, { name = "two" }]
            """)
        #expect(table["point"]?.tableValue?.keys == ["x", "y"])
        #expect(table["empty"]?.tableValue?.isEmpty == true)
        #expect(table["nested"]?.tableValue?["a"]?.tableValue?["b"]?.stringValue == "c")
        #expect(table["nested"]?.tableValue?["d"]?.tableValue?["e"]?.integerValue == 1)
        #expect(table["list"]?.arrayValue?.count == 2)
    }

    @Test func keyLinesAndColumns() throws {
        let table = try TOMLParser.parse(
            """
            [section]

              indented = 1
            """)
        let section = try #require(table["section"]?.tableValue)
        let entry = try #require(section.entry(for: "indented"))
        #expect(entry.line == 3)
        #expect(entry.column == 3)
    }

    @Test func crlfLineEndings() throws {
        let table = try TOMLParser.parse("a = 1\r\nb = \"x\"\r\n[t]\r\nc = [\r\n 1,\r\n]\r\n")
        #expect(table["b"] == .string("x", line: 2))
        #expect(table["t"]?.tableValue?["c"]?.arrayValue?.count == 1)
    }

    @Test func renderingHelpers() {
        #expect(TOMLValue.quoted("a\"b\\c\nd\u{01}") == #""a\"b\\c\nd\u0001""#)
        #expect(TOMLValue.renderKey("rootfs") == "rootfs")
        #expect(TOMLValue.renderKey("has space") == "\"has space\"")
        #expect(TOMLValue.renderKey("") == "\"\"")
    }

    // MARK: Errors

    @Test func duplicateKeyNamesLine() throws {
        let error = try #require(
            parseError(
                """
                # system
                compatible = "a"
                keyring = "/k"



                compatible = "b"
                """))
        #expect(error.line == 7)
        #expect(error.column == 1)
        #expect(
            error.description == "test.toml: line 7: duplicate key 'compatible' (first defined on line 2) (column 1)")
        #expect(error.failureClass == .config)
    }

    @Test func unterminatedStringNamesLine() throws {
        let error = try #require(parseError("a = 1\nb = 2\nc = \"no end\nd = 4"))
        #expect(error.line == 3)
        #expect(error.column == 5)
        #expect(error.message == "unterminated string")
        #expect(error.description.hasPrefix("test.toml: line 3: unterminated string"))
    }

    @Test(arguments: [
        // (document, line, message)
        ("s = 'open", 1, "unterminated string"),
        ("a = 1\ns = \"\"\"\nnever closed", 2, "unterminated multi-line string"),
        ("s = '''\nnever closed", 1, "unterminated multi-line string"),
        (#"s = "bad \q escape""#, 1, #"invalid escape sequence '\q' in string"#),
        (#"s = "\u12""#, 1, #"invalid Unicode escape: \u needs 4 hex digits"#),
        (#"s = "\uD800""#, 1, "invalid Unicode escape: U+D800 is not a Unicode scalar value"),
        ("s = \"tab\u{01}\"", 1, "control character U+0001 in a string must be escaped"),
        ("[a]\nx = 1\n[a]", 3, "duplicate table [a] (first defined on line 1)"),
        ("[a.b]\n[a]\n[a]", 3, "duplicate table [a] (first defined on line 2)"),
        ("[[a]]\n[a]", 2, "table [a] conflicts with the array of tables [[a]] on line 1"),
        ("[a]\n[[a]]", 2, "array of tables [[a]] conflicts with the table [a] on line 1"),
        ("a = [1]\n[[a]]", 2, "cannot append to 'a' with [[a]]: it is a static array defined on line 1"),
        ("a = 1\n[a]", 2, "key 'a' is already defined as a value on line 1"),
        ("a = 1\na.b = 2", 2, "key 'a' is already defined as a value on line 1"),
        ("a.b = 1\n[a]", 2, "table [a] is already defined by dotted keys on line 1"),
        ("[a.b]\nx = 1\n[a]\nb.y = 2", 4, "cannot add keys to table [a.b] (defined on line 1) with a dotted key"),
        ("t = { x = 1 }\n[t]", 2, "cannot extend inline table 't' (defined on line 1)"),
        ("t = { x = 1 }\nt.y = 2", 2, "cannot extend inline table 't' (defined on line 1)"),
        ("t = { x = 1, }", 1, "trailing comma is not allowed in an inline table"),
        ("t = { x = 1,\ny = 2 }", 1, "unterminated inline table (opened on line 1); inline tables must be on one line"),
        ("t = { x = 1, x = 2 }", 1, "duplicate key 't.x' (first defined on line 1)"),
        ("[s]\nk = 1\nk = 2", 3, "duplicate key 's.k' (first defined on line 2)"),
        ("key \"value\"", 1, "expected '=' after key 'key', found '\"'"),
        ("key =", 1, "expected a value, found end of file"),
        ("key = # nothing", 1, "expected a value, found '#'"),
        ("= 1", 1, "expected a key, found '='"),
        ("a = 1 b = 2", 1, "unexpected 'b' after value; expected end of line"),
        ("[a] x = 1", 1, "unexpected 'x' after table header; expected end of line"),
        ("[a", 1, "expected ']' to close the table header, found end of file"),
        ("[[a]", 1, "expected ']]' to close the array of tables header"),
        ("a = hello", 1, "invalid value 'hello'; strings must be in quotes"),
        ("a = 0123", 1, "invalid integer '0123'"),
        ("a = 1__000", 1, "invalid integer '1__000'"),
        ("a = 1_", 1, "invalid integer '1_'"),
        ("a = 0xZZ", 1, "invalid integer '0xZZ'"),
        ("a = 99999999999999999999", 1, "integer '99999999999999999999' is out of range"),
        ("a = 1.", 1, "invalid number '1.'"),
        ("a = .5", 1, "invalid number '.5'"),
        ("a = 1979-05-27", 1, "dates and times are not supported; write '1979-05-27' as a string"),
        ("a = 07:32:00", 1, "dates and times are not supported; write '07:32:00' as a string"),
        ("a = [1, 2", 1, "unterminated array (opened on line 1)"),
        ("a = [\n1,\n2\n", 1, "unterminated array (opened on line 1)"),
        ("a = [1 2]", 1, "expected ',' or ']' in array, found '2'"),
        ("a = [,]", 1, "expected a value in array, found ','"),
        ("ké = 1", 1, "expected '=' after key 'k', found 'é'"),
        ("a = 1\r", 1, "unexpected control character 0xd after value; expected end of line"),
    ])
    func syntaxErrors(document: String, line: Int, message: String) throws {
        let error = try #require(parseError(document), "expected an error for \(document)")
        #expect(error.message == message)
        #expect(error.line == line)
        #expect(error.sourcePath == "test.toml")
        #expect(error.description.hasPrefix("test.toml: line \(line): \(message)"))
    }
}
