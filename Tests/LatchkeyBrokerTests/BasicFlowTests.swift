import LatchkeyCore
import LatchkeyHTTP
import Testing

@testable import LatchkeyBroker

/// The Basic flow's rules without a service: where a password may go, whose it is, the header.
@Suite struct BasicFlowTests {
    func flow(url: String?, username: String? = "alice") -> BasicFlow {
        var config = AccountConfig(name: "intranet")
        config.url = url
        config.username = username
        return BasicFlow(name: "intranet", config: config, http: HTTPClient(), options: HTTPOptions())
    }

    @Test(arguments: ["https://intranet.example/", "http://127.0.0.1:8080/", "http://[::1]/", "http://localhost/"])
    func passwordsGoOverHTTPSOrToThisMachine(_ url: String) throws {
        #expect(try flow(url: url).user(for: nil) == "alice")
    }

    @Test(arguments: ["http://intranet.example/", "ftp://intranet.example/", "not a url"])
    func otherURLsAreRefused(_ url: String) {
        #expect(throws: LatchkeyError.self) { try flow(url: url).user(for: nil) }
    }

    @Test func theURLAskedForDecidesOverTheAccountsOwn() {
        #expect(throws: LatchkeyError.self) {
            try flow(url: "https://intranet.example/").user(for: "http://intranet.example/")
        }
    }

    @Test func noUserNameIsAConfigurationError() {
        do {
            _ = try flow(url: "https://intranet.example/", username: nil).user(for: nil)
            Issue.record("a header without a user name")
        } catch {
            #expect(error.code == .configuration)
            #expect(error.hint.contains("username"))
        }
    }

    @Test func theHeaderIsBase64OfUserColonPassword() {
        let header = BasicFlow.header(user: "Aladdin", password: Secret("open sesame"))
        #expect(header.reveal() == "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==")
    }

    @Test func thePromptNamesTheUserAndTheHostAndDoesNotEcho() {
        let prompt = flow(url: "https://intranet.example/app").passwordPrompt
        #expect(prompt.text == "Password for alice at intranet.example")
        #expect(prompt.echo == false)
    }
}

/// A Basic account's state as a pure value: `now` and the account's generation handed in.
@Suite struct BasicAccountStateTests {
    static let now = Timestamp(secondsSinceEpoch: 1_000_000)

    @Test func aSignInMakesTheAccountValidForADay() {
        var state = BasicAccountState()
        state.signedIn(now: Self.now)
        #expect(state.state == .valid && state.expiresAt == Self.now + BasicFlow.validity)
        #expect(state.lastSignIn == Self.now)
        state.signedOut()
        #expect(state == BasicAccountState())
    }

    @Test func aStoredPasswordSignsTheAccountInAfterARestart() {
        var state = BasicAccountState()
        #expect(state.passwordUsed(readUnder: 3, generation: 3, now: Self.now) == Self.now + BasicFlow.validity)
        #expect(state.state == .valid && state.lastSignIn == nil)
    }

    @Test func aPasswordReadBeforeASignOutChangesNothing() {
        var state = BasicAccountState()
        // Read under generation 3; the sign-out moved the account to 4 meanwhile.
        #expect(state.passwordUsed(readUnder: 3, generation: 4, now: Self.now) == Self.now + BasicFlow.validity)
        #expect(state == BasicAccountState())
    }
}
