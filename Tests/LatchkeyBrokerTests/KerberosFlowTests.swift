import LatchkeyCore
import LatchkeyGSS
import Testing

@testable import LatchkeyBroker

/// The Kerberos flow's rules without a KDC: which service a header is for, and what each
/// library failure means to the person and to the account's state.
@Suite struct KerberosFlowTests {
    func flow(url: String? = "https://intranet.example/app", service: String? = nil) -> KerberosFlow {
        var config = AccountConfig(name: "corp")
        config.url = url
        config.service = service
        return KerberosFlow(name: "corp", config: config)
    }

    @Test func theServiceIsTheHostOfTheURLAskedForElseTheAccounts() throws {
        #expect(try flow().servicePrincipal(url: nil) == "HTTP@intranet.example")
        #expect(try flow().servicePrincipal(url: "https://wiki.example:8443/x") == "HTTP@wiki.example")
    }

    @Test func aConfiguredServiceWins() throws {
        #expect(
            try flow(service: "HTTP@proxy.example").servicePrincipal(url: "https://wiki.example/")
                == "HTTP@proxy.example")
    }

    @Test func withoutAURLTheServiceIsUnknown() {
        #expect(throws: LatchkeyError.self) { try flow(url: nil).servicePrincipal(url: nil) }
    }

    @Test(arguments: [KerberosFailureKind.noCredentials, .expired])
    func missingOrExpiredCredentialsNeedASignIn(_ kind: KerberosFailureKind) {
        let failure = flow().failure(KerberosError(kind: kind, message: "no ticket"), service: nil)
        #expect(failure.signInRequired)
        #expect(failure.error.code == .signinRequired)
        #expect(failure.error.message.contains("no ticket"))
    }

    @Test func anUnreachableKDCIsTriedAgainLater() {
        let failure = flow().failure(KerberosError(kind: .kdcUnreachable, message: "timeout"), service: nil)
        #expect(!failure.signInRequired)
        #expect(failure.error.code == .providerUnavailable && failure.error.retryAfter == 30)
    }

    @Test func anUnknownServiceNamesTheSPN() {
        let failure = flow().failure(
            KerberosError(kind: .unknownServer, message: "not found"), service: "HTTP@wiki.example")
        #expect(!failure.signInRequired)
        #expect(failure.error.code == .configuration && failure.error.message.contains("HTTP@wiki.example"))
    }
}
