import LatchkeyCore
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite struct ConfigurationTests {
    @Test func readsTheSpecExample() throws {
        let text = """
            [broker]
            store = "auto"
            refresh_before = "5m"
            notify = "desktop"            # desktop | command | none

            [accounts.work]
            email = "alice@contoso.example"
            method = "oauth"
            provider = "microsoft"        # microsoft | google | oidc
            tenant = "organizations"
            client_id = "00000000-0000-0000-0000-000000000000"
            scopes = ["https://outlook.office.com/EAS.AccessAsUser.All", "offline_access"]
            flow = "device"               # device | browser
            fallback = ["kerberos", "basic"]
            allowed_clients = ["/usr/bin/mbsync"]

            [accounts.lab]                # any OIDC provider, found by discovery from its issuer
            method = "oauth"
            provider = "oidc"
            issuer = "https://id.example.org/realms/lab"
            client_id = "latchkey"
            scopes = [
                "openid",   # identity
                "offline_access",
            ]
            ca_file = "/etc/ssl/private-ca.pem"

            [accounts.onprem]
            method = "kerberos"
            principal = "alice@CORP.EXAMPLE"
            url = "https://mail.corp.example/Microsoft-Server-ActiveSync"
            """
        let config = try Configuration.parse(text, file: "config.toml")
        #expect(config.broker.refreshBefore == 300)
        #expect(config.accounts.map(\.name) == ["work", "lab", "onprem"])
        let work = try #require(config.account(named: "work"))
        #expect(work.provider == .microsoft)
        #expect(work.fallback == [.kerberos, .basic])
        #expect(work.scopes.count == 2)
        #expect(config.account(named: "lab")?.scopes == ["openid", "offline_access"])
        #expect(config.account(named: "onprem")?.method == .kerberos)
    }

    @Test func theShippedExampleParses() throws {
        let path = #filePath.split(separator: "/").dropLast(3).joined(separator: "/")
        var text = ""
        let fd = fopen("/" + path + "/config/latchkey.example.toml", "r")
        try #require(fd != nil)
        var buffer = [CChar](repeating: 0, count: 4096)
        while fgets(&buffer, Int32(buffer.count), fd) != nil {
            text += String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
        fclose(fd)
        let config = try Configuration.parse(text, file: "latchkey.example.toml")
        #expect(!config.accounts.isEmpty)
        // Every key the parser accepts is documented there (set, or shown commented out).
        for key in Configuration.brokerKeys + Configuration.accountKeys {
            #expect(
                text.contains("\n\(key) =") || text.contains("\n# \(key) ="),
                "config/latchkey.example.toml does not document '\(key)'")
        }
    }

    @Test(arguments: [
        ("[broker]\nstore = \"cloud\"\n", 2, "broker.store", "'cloud' is not one of"),
        ("[accounts.w]\nmethod = \"oauth\"\nclient_id = 42\n", 3, "accounts.w.client_id", "expected a string"),
        ("[accounts.w]\nclinet_id = \"x\"\n", 2, "accounts.w.clinet_id", "unknown key"),
        ("[accounts.w]\nmethod = \"oauth\"\nissuer = \"https://x\"\n", 1, "accounts.w.client_id", "needs a client_id"),
        ("\n\n[accounts.w]\nclient_id = \"x\nissuer=1\n", 4, "accounts.w.client_id", "unterminated string"),
        ("[broker]\nrefresh_before = \"soon\"\n", 2, "broker.refresh_before", "must be a duration"),
        ("[accounts.w]\nclient_secret = \"s\"\n", 2, "accounts.w.client_secret", "does not belong in a plain file"),
        ("[accounts.w]\nscopes = [\"a\",\n", 3, "accounts.w.scopes", "opened at line 2, column 10 is never closed"),
        ("[broker]\n[broker]\n", 2, "broker", "defined twice"),
        ("[accounts.\"a b\"]\nclient_id = \"x\"\n", 1, "accounts.a b", "account names may use"),
        ("[accounts.w]\nimap = \"mail.example\"\n", 2, "accounts.w.imap", "is not host:port"),
        ("[accounts.w]\nsmtp = \"mail.example:0\"\n", 2, "accounts.w.smtp", "is not host:port"),
        ("[accounts.w]\nsmtp = \"mail.example:99999\"\n", 2, "accounts.w.smtp", "is not host:port"),
        ("[accounts.w]\nimap = \"a/b:993\"\n", 2, "accounts.w.imap", "is not host:port"),
    ])
    func errorsNameFileLineAndKey(_ text: String, _ line: Int, _ key: String, _ words: String) {
        do {
            _ = try Configuration.parse(text, file: "/home/alice/.config/latchkey/config.toml")
            Issue.record("expected an error")
        } catch {
            #expect(error.line == line)
            #expect(error.key == key)
            #expect(error.message.contains(words), "\(error.message)")
            #expect(error.description.hasPrefix("/home/alice/.config/latchkey/config.toml:\(line):"))
        }
    }

    @Test func mailServersAreHostAndPort() throws {
        let text = "[accounts.w]\nmethod = \"basic\"\nimap = \"outlook.office365.com:993\"\nsmtp = \"[::1]:587\"\n"
        let account = try Configuration.parse(text, file: "c.toml").accounts.first
        #expect(account?.imap == HostPort("outlook.office365.com:993") && account?.imap?.port == 993)
        #expect(account?.smtp?.host == "::1" && account?.smtp?.description == "[::1]:587")
    }
}
