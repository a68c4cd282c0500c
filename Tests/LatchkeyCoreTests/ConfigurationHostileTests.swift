import LatchkeyCore
import Testing

/// Issue 14, items 3, 5 and 6: files people save on other systems, and values that used to pass
/// validation and trap later, are read as users expect or refused with the file, line and key.
@Suite struct ConfigurationHostileTests {
    static let account = "[accounts.w]\r\nmethod = \"kerberos\"\r\nprincipal = \"a@B\"\r\n"

    @Test func aCRLFFileStartingWithACommentIsReadNotEmpty() throws {
        let text = "# my accounts\r\n[broker]\r\nmin_valid = \"2m\"\r\n" + Self.account
        let config = try Configuration.parse(text, file: "c.toml")
        #expect(config.broker.minValid == 120)
        #expect(config.accounts.map(\.name) == ["w"])
    }

    @Test func aCRLFFileWithoutACommentIsRead() throws {
        let config = try Configuration.parse(Self.account, file: "c.toml")
        #expect(config.account(named: "w")?.principal == "a@B")
    }

    @Test func aUTF8ByteOrderMarkIsSkipped() throws {
        let config = try Configuration.parse("\u{FEFF}" + Self.account, file: "c.toml")
        #expect(config.accounts.map(\.name) == ["w"])
    }

    @Test(arguments: [
        ("[broker]\nprovider_timeout = \"infs\"\n", "broker.provider_timeout"),
        ("[broker]\nprovider_timeout = \"nan\"\n", "broker.provider_timeout"),
        ("[broker]\nprovider_timeout = \"1e300s\"\n", "broker.provider_timeout"),
        ("[broker]\nprovider_timeout = \"0x10s\"\n", "broker.provider_timeout"),
        ("[broker]\nprovider_timeout = inf\n", "broker.provider_timeout"),
        ("[broker]\nrefresh_before = nan\n", "broker.refresh_before"),
        ("[broker]\nmin_valid = 1e300\n", "broker.min_valid"),
        ("[broker]\nmin_valid = 9223372036854775807\n", "broker.min_valid"),
    ])
    func nonFiniteOrHugeDurationsAreRefusedAtLoad(_ text: String, _ key: String) {
        #expect(throws: ConfigurationError.self) { try Configuration.parse(text, file: "c.toml") }
        do {
            _ = try Configuration.parse(text, file: "c.toml")
        } catch {
            #expect(error.line == 2)
            #expect(error.key == key)
            #expect(error.message.contains("must be a duration such as \"30s\""), "\(error.message)")
        }
    }

    @Test func aDateWhereAStringIsWantedSaysSo() {
        do {
            _ = try Configuration.parse("[accounts.w]\nmethod = \"kerberos\"\nprincipal = 1979-05-27\n", file: "c.toml")
            Issue.record("expected an error")
        } catch {
            #expect(error.line == 3)
            #expect(error.column == 13)
            #expect(error.key == "accounts.w.principal")
            #expect(error.message.contains("dates are not a value Latchkey uses here"), "\(error.message)")
            #expect(error.description.hasPrefix("c.toml:3:13: accounts.w.principal: "), "\(error.description)")
        }
    }

    @Test func aWrongTypeNamesTheTypeFoundAndTheOneWanted() {
        do {
            _ = try Configuration.parse("[broker]\nnotify = 3.5\n", file: "c.toml")
            Issue.record("expected an error")
        } catch {
            #expect(error.message.contains("expected a string"), "\(error.message)")
            #expect(error.message.contains("found a float"), "\(error.message)")
        }
    }

    @Test(arguments: [
        String(repeating: "[", count: 100_000),
        "a = " + String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000),
        "a = " + String(repeating: "{b=", count: 50_000),
        "a = " + String(repeating: "[{b=", count: 50_000),
    ])
    func deepNestingIsAnErrorNotAStackOverflow(_ text: String) {
        do {
            _ = try Configuration.parse(text, file: "c.toml")
            Issue.record("expected an error")
        } catch {
            #expect(error.line == 1)
        }
    }

    @Test(arguments: [
        ("[broker]\n[broker]\n", 2, "defined twice"),
        ("[", 1, ""),
        ("a = 01\n", 1, "leading zero"),
        ("a = 1__2\n", 1, ""),
        ("a = \"x\u{7}y\"\n", 1, "control character"),
    ])
    func invalidTOMLIsRefusedWithItsLine(_ text: String, _ line: Int, _ words: String) {
        do {
            _ = try Configuration.parse(text, file: "c.toml")
            Issue.record("expected an error")
        } catch {
            #expect(error.line == line)
            #expect(error.column >= 1)
            #expect(words.isEmpty || error.message.contains(words), "\(error.message)")
        }
    }
}

@Suite struct DurationTests {
    @Test(arguments: [
        ("\"90\"", 90.0), ("\"90s\"", 90), ("\"1.5m\"", 90), ("\"2h\"", 7200), ("\"1d\"", 86_400), ("45", 45),
        ("2.5", 2.5), ("\"366d\"", 31_622_400),
    ])
    func readsWhatTheExampleDocuments(_ value: String, _ seconds: Double) throws {
        let config = try Configuration.parse("[broker]\nmin_valid = \(value)\n", file: "c.toml")
        #expect(config.broker.minValid == seconds)
    }

    @Test(arguments: [
        "\"\"", "\"s\"", "\".5s\"", "\"5.s\"", "\"1.2.3s\"", "\"-5s\"", "\"5 s\"", "\"5ms\"", "\"367d\"", "-1",
        "\"1e3s\"", "\"٣s\"", "-0.5", "31622401",
    ])
    func refusesEverythingElse(_ value: String) {
        #expect(throws: ConfigurationError.self) {
            try Configuration.parse("[broker]\nmin_valid = \(value)\n", file: "c.toml")
        }
    }
}
