import LatchkeyCore
import Testing

/// The TOML 1.0 reader on its own (the toml-test suite runs through scripts/toml-test.sh, and
/// Tests/e2e/test_toml_differential.py compares it with tomllib; these are the cases issue 14
/// named, kept here so `swift test` shows them).
@Suite struct TOMLTests {
    func value(_ text: String, _ key: String = "a") throws -> TOMLValue? {
        try TOMLTable.parse(text)[key]?.value
    }

    @Test func readsWhatTheOldReaderRefused() throws {
        #expect(try value("a = \"\"\"\nline one\nline \\\n    two\"\"\"\"") == .string("line one\nline two\""))
        #expect(try value("a = '''\nC:\\x\n'''") == .string("C:\\x\n"))
        #expect(try value("a = 0xDEAD_BEEF") == .integer(0xDEAD_BEEF))
        #expect(try value("a = 0o755") == .integer(0o755))
        #expect(try value("a = 0b1010") == .integer(10))
        #expect(try value("a = -9223372036854775808") == .integer(Int.min))
        #expect(try value("a = 6.626e-34") == .float(6.626e-34))
        #expect(try value("a = -inf") == .float(-.infinity))
        let inline = try #require(try value("a = { b = 1, c.d = \"x\" }"))
        guard case .table(let t) = inline, case .table(let c)? = t["c"]?.value else {
            Issue.record("\(inline)")
            return
        }
        #expect(t["b"]?.value == .integer(1) && c["d"]?.value == .string("x"))
        let doc = try TOMLTable.parse("[[p]]\nn = 1\n[[p]]\nn = 2\n[p.q]\nm = 3\n")
        guard case .array(let items)? = doc["p"]?.value else {
            Issue.record("\(doc)")
            return
        }
        #expect(items.count == 2)
        let dt = try #require(try value("a = 1979-05-27T00:32:00.999999-07:00"))
        guard case .dateTime(let d) = dt else {
            Issue.record("\(dt)")
            return
        }
        #expect(d.rfc3339 == "1979-05-27T00:32:00.999999-07:00" && d.kind == "a date-time")
        #expect(try value("a = 1979-05-27")?.kind == "a date")
        #expect(try value("a = 07:32:00")?.kind == "a time")
    }

    @Test(arguments: [
        ("a = 01", 1, 5, "leading zero"),
        ("a = 1__2", 1, 5, "between two digits"),
        ("a = infinity", 1, 5, ""),
        ("a = 0x", 1, 5, ""),
        ("a = +0x10", 1, 5, ""),
        ("a = 9223372036854775808", 1, 5, "out of range"),
        ("a = \"tab\tok but bell \u{7} not\"", 1, 22, "control characters"),
        ("# bell \u{7}\n", 1, 8, "control characters"),
        ("[t]\n[t]", 2, 1, "defined twice"),
        ("a.b = 1\n[a]", 2, 1, "cannot be defined here"),
        ("a = {}\n[a]", 2, 1, "cannot be defined here"),
        ("a = [1]\n[[a]]", 2, 1, "cannot add to"),
        ("a = {b = 1,}", 1, 12, "comma"),
        ("a = {b = 1\n}", 1, 11, "one line"),
        ("a = 1979-02-30", 1, 5, "no such date"),
        ("a = 1979-05-27T25:00:00", 1, 5, ""),
        ("a = \"\\x41\"", 1, 6, "unknown escape"),
        ("a = \"\\uD800\"", 1, 6, "Unicode scalar"),
        ("a = 1\rb = 2", 1, 6, "carriage return"),
        ("\"\"\"k\"\"\" = 1", 1, 1, "multi-line"),
        ("a = 1\nb = 2 c", 2, 7, "line of its own"),
    ])
    func refusesInvalidTOMLWithItsPlace(_ text: String, _ line: Int, _ column: Int, _ words: String) {
        do {
            let doc = try TOMLTable.parse(text)
            Issue.record("read \(doc)")
        } catch {
            #expect(error.line == line && error.column == column, "\(error)")
            #expect(words.isEmpty || error.message.contains(words), "\(error.message)")
        }
    }

    @Test func invalidUTF8IsPlacedOnItsLine() {
        #expect(throws: TOMLError(line: 2, column: 6, key: "", message: "the file is not valid UTF-8 text")) {
            try TOMLTable.parse(Array("a = 1\nb = \"".utf8) + [0xE9, 0x22])
        }
    }
}

@Suite struct TOMLMessageTests {
    @Test func aHugeKeyIsShortenedInMessages() {
        let key = String(repeating: "k", count: 1_000_000)
        do {
            _ = try Configuration.parse("[\(key)]\nx = 1\n[\(key)]\n", file: "c.toml")
            Issue.record("expected an error")
        } catch {
            #expect(error.description.utf8.count < 400, "\(error.description.utf8.count) bytes")
            #expect(error.line == 3 && error.message.contains("defined twice"))
        }
    }
}
