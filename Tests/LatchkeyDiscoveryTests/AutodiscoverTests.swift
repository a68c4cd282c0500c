import LatchkeyCore
import LatchkeyOAuth
import Testing

@testable import LatchkeyDiscovery

/// Autodiscover's pieces that need no network: POX answers as Exchange writes them, URLs,
/// and the XML scanner's limits. The walk itself runs against the test provider in
/// Tests/e2e/test_setup.py.
@Suite struct AutodiscoverTests {
    static let mobileSync = """
        <?xml version="1.0" encoding="utf-8"?>
        <Autodiscover xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns="http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006">
          <Response xmlns="http://schemas.microsoft.com/exchange/autodiscover/mobilesync/responseschema/2006">
            <Culture>en:us</Culture>
            <User><DisplayName>Alice &amp; Co</DisplayName><EMailAddress>alice@contoso.example</EMailAddress></User>
            <Action>
              <Settings>
                <Server><Type>CertEnroll</Type><Url>https://ca.contoso.example/</Url></Server>
                <Server><Type>MobileSync</Type><Url>https://mail.contoso.example/Microsoft-Server-ActiveSync</Url><Name>x</Name></Server>
              </Settings>
            </Action>
          </Response>
        </Autodiscover>
        """

    static let outlook = """
        <?xml version="1.0" encoding="utf-8"?>
        <Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006">
          <Response xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a">
            <!-- <Account><Action>redirectAddr</Action><RedirectAddr>evil@x</RedirectAddr></Account> -->
            <Account>
              <AccountType>email</AccountType>
              <Action>settings</Action>
              <Protocol><Type>EXPR</Type><Server>mail.contoso.example</Server></Protocol>
              <Protocol><Type>EXCH</Type><EwsUrl>https://mail.contoso.example/EWS/Exchange.asmx?a=1&amp;b=2</EwsUrl></Protocol>
            </Account>
          </Response>
        </Autodiscover>
        """

    @Test func mobileSyncSettingsNameTheActiveSyncServer() throws {
        #expect(
            try POXAnswer.read(Array(Self.mobileSync.utf8))
                == .settings(service: .activeSync, url: "https://mail.contoso.example/Microsoft-Server-ActiveSync"))
    }

    @Test func outlookSettingsNameEWSAndCommentsAreIgnored() throws {
        #expect(
            try POXAnswer.read(Array(Self.outlook.utf8))
                == .settings(service: .ews, url: "https://mail.contoso.example/EWS/Exchange.asmx?a=1&b=2"))
    }

    @Test(arguments: [
        (
            "<Autodiscover><Response><Account><Action>redirectAddr</Action><RedirectAddr>bob@fabrikam.example</RedirectAddr></Account></Response></Autodiscover>",
            POXAnswer.redirectAddress("bob@fabrikam.example")
        ),
        (
            "<a:Autodiscover xmlns:a=\"http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006\"><o:Response xmlns:o=\"http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a\"><o:Account><o:Action>redirectUrl</o:Action><o:RedirectUrl>https://h/autodiscover/autodiscover.xml</o:RedirectUrl></o:Account></o:Response></a:Autodiscover>",
            .redirectURL("https://h/autodiscover/autodiscover.xml")
        ),
        (
            "<Autodiscover><Response><Action><Redirect>carol@contoso.example</Redirect></Action></Response></Autodiscover>",
            .redirectAddress("carol@contoso.example")
        ),
        (
            "<Autodiscover><Response><Action><Error><Status>1</Status><Message>Unknown user</Message></Error></Action></Response></Autodiscover>",
            .error("Unknown user")
        ),
        (
            "<Autodiscover><Response><Error Time=\"1\" Id=\"2\"><ErrorCode>600</ErrorCode><Message>Invalid Request</Message></Error></Response></Autodiscover>",
            .error("Invalid Request (600)")
        ),
    ])
    func redirectsAndErrorsAreRead(document: String, expected: POXAnswer) throws {
        #expect(try POXAnswer.read(Array(document.utf8)) == expected)
    }

    @Test(arguments: [
        "<!DOCTYPE html><html><body>Sign in</body></html>", "<html><Autodiscover/></html>", "{\"Url\":\"x\"}", "",
        "<Autodiscover><Response><Action><Settings><Server><Type>MobileSync", "<<<>>>",
    ])
    func anythingElseIsNoAnswerOrAnErrorNeverACrash(document: String) {
        let answer = try? POXAnswer.read(Array(document.utf8))
        if case .settings = answer { Issue.record("read settings from \(document)") }
    }

    @Test func candidateHostsAndURLs() {
        #expect(
            Autodiscover.candidates(email: "alice@Contoso.Example", configured: nil)
                == ["https://contoso.example", "https://autodiscover.contoso.example", "https://outlook.office365.com"])
        #expect(
            Autodiscover.candidates(
                email: "alice@contoso.example", configured: "https://ad.example:8443/autodiscover/x")
                == ["https://ad.example:8443"])
        #expect(Autodiscover.candidates(email: "alice@bad/host", configured: nil).isEmpty)
        #expect(Autodiscover.pathSegment("al ice+tag@x.example/..") == "al%20ice+tag@x.example%2F..")
        #expect(Autodiscover.resolve("/a/b?c", against: "https://h:1/x/y?z") == "https://h:1/a/b?c")
        #expect(Autodiscover.resolve("next.xml", against: "https://h/x/y.xml") == "https://h/x/next.xml")
        #expect(Autodiscover.resolve("http://other/", against: "https://h/") == "http://other/")
    }

    @Test func thePOXRequestEscapesTheAddress() {
        let body = Autodiscover.poxRequest(email: "a<b>&\"@x.example", schema: Autodiscover.outlookResponseSchema)
        #expect(body.contains("<EMailAddress>a&lt;b&gt;&amp;&quot;@x.example</EMailAddress>"))
        #expect(body.contains("outlook/requestschema/2006\""))
    }
}

@Suite struct MethodChoiceTests {
    let offered: [OfferedMethod] = [
        .ntlm, .basic(realm: "r"), .kerberos, .oauth(authorizationURI: "https://id/authorize", issuer: "https://id"),
    ]

    @Test func theFirstUsableMethodInThePreferenceOrderWins() throws {
        let choice = try MethodChoice.choose(offered: offered, preference: [.oauth, .kerberos, .basic]) { _, _ in nil }
        #expect(choice.method == .oauth)
        #expect(choice.alternatives == [.kerberos, .basic])
        #expect(choice.reasons.contains { $0.hasPrefix("ntlm: offered, but Latchkey does not support NTLM") })

        let kerberosFirst = try MethodChoice.choose(offered: offered, preference: [.basic, .kerberos]) { method, _ in
            method == .basic ? "nope" : nil
        }
        #expect(kerberosFirst.method == .kerberos)
        #expect(kerberosFirst.reasons.first == "basic: offered, but nope")
    }

    @Test func nothingUsableIsAConfigurationErrorListingEveryReason() {
        #expect {
            _ = try MethodChoice.choose(offered: [.ntlm, .other("Digest")], preference: [.oauth, .kerberos]) { _, _ in
                nil
            }
        } throws: { error in
            let message = (error as? LatchkeyError)?.message ?? ""
            return (error as? LatchkeyError)?.code == .configuration && message.contains("oauth: not offered")
                && message.contains("ntlm: offered, but") && message.contains("Digest: offered, but not a scheme")
        }
    }

    @Test(arguments: [
        ("https://mail.example.org/x", true), ("http://127.0.0.1:8080/x", true), ("http://[::1]/x", true),
        ("http://mail.example.org/x", false), ("http://127.0.0.1.example.org/", false),
    ])
    func basicOnlyOverHTTPSOrToThisMachine(url: String, usable: Bool) throws {
        let parts = try #require(URLParts(url))
        #expect((Discovery.basicProblem(parts) == nil) == usable)
    }
}

@Suite struct AccountSectionTests {
    func report(method: AuthMethod, serviceURL: String, email: String?, alternatives: [AuthMethod] = [])
        -> DiscoveryReport
    {
        DiscoveryReport(
            email: email, serviceURL: serviceURL, autodiscover: nil, probeStatus: 401,
            challenges: WWWAuthenticate.parse(["Bearer authorization_uri=\"https://id/authorize\"\u{0A}[accounts.evil]"]
            ),
            choice: MethodChoice(
                method: method, offer: .kerberos, alternatives: alternatives, reasons: ["why\nnot = 1"]),
            issuer: "https://id", provider: .oidc, tenant: nil, metadata: nil, realm: "CORP.EXAMPLE")
    }

    @Test func theSectionParsesAndHostileTextStaysInComments() throws {
        let section = AccountSection(
            name: "my.work",
            report: report(method: .oauth, serviceURL: "https://mail.example/\"x\"\n", email: "a@b.example"),
            clientID: "id\"\\", caFile: nil, scopes: nil, username: nil)
        let text = "[broker]\nstore = \"memory\"\n" + section.text
        let configuration = try Configuration.parse(text, file: "t.toml")
        #expect(configuration.accounts.map(\.name) == ["my.work"])
        let account = try #require(configuration.accounts.first)
        #expect(account.method == .oauth && account.issuer == "https://id" && account.clientID == "id\"\\")
        #expect(account.url == "https://mail.example/\"x\"\n")
        #expect(account.scopes == ["openid", "offline_access"])
        // No line of the explanation escapes its comment.
        for line in section.text.split(separator: "\n") where !line.hasPrefix("#") {
            #expect(!line.contains("evil") && !line.hasPrefix("not"), "\(line)")
        }
    }

    @Test func kerberosWithBasicAlternativeWritesPrincipalAndFallback() throws {
        let section = AccountSection(
            name: "corp",
            report: report(
                method: .kerberos, serviceURL: "https://mail/", email: "alice@corp.example",
                alternatives: [.basic]),
            clientID: nil, caFile: "/etc/ca.pem", scopes: nil, username: "alice")
        let account = try #require(try Configuration.parse(section.text, file: "t.toml").accounts.first)
        #expect(account.method == .kerberos && account.principal == "alice@CORP.EXAMPLE")
        #expect(account.fallback == [.basic] && account.username == "alice" && account.caFile == "/etc/ca.pem")
    }
}
