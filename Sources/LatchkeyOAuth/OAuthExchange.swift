import LatchkeyCore
import LatchkeyHTTP

/// The provider exchanges the broker performs, and nothing about *when*: discovery, device
/// authorization (RFC 8628), the code and refresh grants (RFC 6749), revocation (RFC 7009).
/// `OAuthClient` performs them against a real provider over libcurl; the broker's tests put an
/// in-memory provider in its place (Tests/LatchkeyBrokerTests), so every flow above the
/// exchanges runs without network or clock.
public protocol OAuthExchange: Sendable {
    /// The HTTP client for requests that are no OAuth exchange (method discovery, Basic's one
    /// password check).
    var http: HTTPClient { get }

    /// OIDC discovery, falling back to RFC 8414 metadata.
    func discover(issuer: String, options: HTTPOptions) async throws(OAuthError) -> ProviderMetadata

    /// Asks for a device code and the code the person types.
    func startDeviceAuthorization(
        endpoint: String, clientID: String, scopes: [String], claims: String?, options: HTTPOptions
    ) async throws(OAuthError) -> DeviceAuthorization

    /// One poll of the token endpoint with the device code.
    func pollDeviceAuthorization(
        tokenEndpoint: String, clientID: String, deviceCode: Secret<String>, options: HTTPOptions
    ) async throws(OAuthError) -> DevicePoll

    /// Trades an authorization code and its PKCE verifier for tokens.
    func exchangeCode(
        tokenEndpoint: String, clientID: String, code: Secret<String>, request: AuthorizationRequest,
        options: HTTPOptions
    ) async throws(OAuthError) -> TokenResponse

    /// The refresh_token grant; a rotated refresh token comes back in the answer.
    func refresh(
        tokenEndpoint: String, clientID: String, refreshToken: Secret<String>, scopes: [String], claims: String?,
        options: HTTPOptions
    ) async throws(OAuthError) -> TokenResponse

    /// Revokes a token at the provider.
    func revoke(endpoint: String, clientID: String, token: Secret<String>, hint: String, options: HTTPOptions)
        async throws(OAuthError)
}

extension OAuthClient: OAuthExchange {}
