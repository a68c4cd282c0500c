import LatchkeyCore
import LatchkeyCrypto
import LatchkeyHTTP

/// The authorization code grant with PKCE S256 (RFC 6749 §4.1, RFC 7636) for a native app
/// with a loopback redirect (RFC 8252 §7.3): the request's secrets and the URL to open.
public struct AuthorizationRequest: Sendable {
    /// Kept in the daemon; only its S256 hash travels in the URL.
    public let verifier: Secret<String>
    /// Checked against the redirect, so that only this request's answer is taken.
    public let state: String
    public let redirectURI: String
    public let url: String

    public init(
        authorizationEndpoint: String, clientID: String, redirectURI: String, scopes: [String], claims: String? = nil
    ) {
        let verifier = Crypto.randomToken(bytes: 32)
        self.verifier = Secret(verifier)
        state = Crypto.randomToken(bytes: 16)
        self.redirectURI = redirectURI
        var fields = [
            ("response_type", "code"), ("client_id", clientID), ("redirect_uri", redirectURI),
            ("scope", scopes.joined(separator: " ")), ("state", state),
            ("code_challenge", Self.challenge(for: verifier)), ("code_challenge_method", "S256"),
        ]
        if let claims { fields.append(("claims", claims)) }
        let query = fields.map { FormEncoding.escape($0.0) + "=" + FormEncoding.escape($0.1) }.joined(separator: "&")
        url = authorizationEndpoint + (authorizationEndpoint.contains("?") ? "&" : "?") + query
    }

    /// `BASE64URL(SHA256(verifier))`, RFC 7636 §4.2.
    public static func challenge(for verifier: String) -> String {
        Base64.encodeURL(Crypto.sha256(Array(verifier.utf8)))
    }
}

extension OAuthClient {
    /// Trades the code from the redirect for tokens, proving possession of the verifier.
    public func exchangeCode(
        tokenEndpoint: String, clientID: String, code: Secret<String>, request: AuthorizationRequest,
        options: HTTPOptions
    ) async throws(OAuthError) -> TokenResponse {
        let fields = [
            ("grant_type", "authorization_code"), ("code", code.reveal()), ("redirect_uri", request.redirectURI),
            ("client_id", clientID), ("code_verifier", request.verifier.reveal()),
        ]
        return try await answer(.form(tokenEndpoint, fields), options: options, reading: TokenResponse.init(json:))
    }
}
