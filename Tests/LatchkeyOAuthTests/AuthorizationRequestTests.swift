import LatchkeyCore
import LatchkeyOAuth
import Testing

@Suite struct AuthorizationRequestTests {
    /// RFC 7636 Appendix B.
    @Test func theS256ChallengeMatchesTheRFCExample() {
        #expect(
            AuthorizationRequest.challenge(for: "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")
                == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM")
    }

    @Test func theURLCarriesTheChallengeNeverTheVerifier() {
        let request = AuthorizationRequest(
            authorizationEndpoint: "https://id.example/authorize?tenant=x", clientID: "app",
            redirectURI: "http://127.0.0.1:5000/",
            scopes: ["openid", "offline_access"], claims: "{\"a\":1}")
        let query = Dictionary(
            FormEncoding.pairs(request.url.split(separator: "?", maxSplits: 1)[1]), uniquingKeysWith: { a, _ in a })
        #expect(query["tenant"] == "x")
        #expect(query["code_challenge"] == AuthorizationRequest.challenge(for: request.verifier.reveal()))
        #expect(query["code_challenge_method"] == "S256" && query["state"] == request.state)
        #expect(query["redirect_uri"] == "http://127.0.0.1:5000/" && query["scope"] == "openid offline_access")
        #expect(query["claims"] == "{\"a\":1}")
        #expect(!request.url.contains(request.verifier.reveal()))
        #expect(request.verifier.reveal().count == 43 && request.state.count >= 22)
        let other = AuthorizationRequest(
            authorizationEndpoint: "https://id.example/authorize", clientID: "app",
            redirectURI: "http://127.0.0.1:5000/", scopes: [])
        #expect(other.state != request.state && other.verifier.reveal() != request.verifier.reveal())
    }

    @Test func queriesDecode() {
        let pairs = FormEncoding.pairs("code=a%2Fb+c&state=&x&bad=%zz%4")
        #expect(pairs.map(\.0) == ["code", "state", "x", "bad"])
        #expect(pairs.map(\.1) == ["a/b c", "", "", "%zz%4"])
    }
}
