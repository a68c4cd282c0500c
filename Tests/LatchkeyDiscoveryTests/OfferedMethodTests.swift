import LatchkeyDiscovery
import Testing

@Suite("Offered methods")
struct OfferedMethodTests {
    private func bearer(_ parameters: [(name: String, value: String)]) -> OfferedMethod {
        AuthChallenge(scheme: "Bearer", token68: nil, parameters: parameters).offeredMethod
    }

    @Test(arguments: [
        // Microsoft identity platform: the tenant's v2.0 issuer, whatever endpoint shape was sent.
        (
            "https://login.microsoftonline.com/common/oauth2/authorize",
            "https://login.microsoftonline.com/common/v2.0"
        ),
        (
            "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/authorize?client_id=x",
            "https://login.microsoftonline.com/contoso.onmicrosoft.com/v2.0"
        ),
        (
            "https://login.microsoftonline.us/72f988bf-86f1-41af-91ab-2d7cd011db47/oauth2/authorize",
            "https://login.microsoftonline.us/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0"
        ),
        // Generic servers: strip the authorization endpoint.
        (
            "https://sso.example.com/realms/corp/protocol/openid-connect/auth",
            "https://sso.example.com/realms/corp"
        ),
        ("https://idp.example.com/oauth2/authorize", "https://idp.example.com"),
        ("https://auth.example.com/tenant/authorize/", "https://auth.example.com/tenant"),
        ("https://auth.example.com:8443/authorize#frag", "https://auth.example.com:8443"),
    ])
    func derivesIssuer(authorizationURI: String, issuer: String) {
        #expect(
            bearer([(name: "authorization_uri", value: authorizationURI)])
                == .oauth(authorizationURI: authorizationURI, issuer: issuer)
        )
    }

    @Test(arguments: [
        "https://idp.example.com/login", "not a url", "ftp://idp.example.com/authorize",
        "https:///authorize",
    ])
    func unknownShapesKeepTheURIWithoutAnIssuer(authorizationURI: String) {
        #expect(
            bearer([(name: "authorization_uri", value: authorizationURI)])
                == .oauth(authorizationURI: authorizationURI, issuer: nil)
        )
    }

    @Test func emptyAuthorizationURIIsAbsent() {
        #expect(
            bearer([(name: "authorization_uri", value: "")]) == .oauth(authorizationURI: nil, issuer: nil)
        )
        #expect(bearer([]) == .oauth(authorizationURI: nil, issuer: nil))
    }

    @Test func schemesMapToMethods() {
        #expect(AuthChallenge(scheme: "Kerberos").offeredMethod == .kerberos)
        #expect(AuthChallenge(scheme: "negotiate", token68: "YII=").offeredMethod == .kerberos)
        #expect(AuthChallenge(scheme: "BASIC").offeredMethod == .basic(realm: nil))
        #expect(AuthChallenge(scheme: "Ntlm").offeredMethod == .ntlm)
        #expect(AuthChallenge(scheme: "HOBA").offeredMethod == .other("HOBA"))
    }
}
