import LatchkeyCore

/// Where an authorization server's endpoints are (RFC 8414 / OIDC Discovery 1.0).
public struct ProviderMetadata: Sendable, Equatable {
    public var issuer: String?
    public var authorizationEndpoint: String?
    public var tokenEndpoint: String
    public var deviceAuthorizationEndpoint: String?
    public var revocationEndpoint: String?

    public init(
        issuer: String? = nil, authorizationEndpoint: String? = nil, tokenEndpoint: String,
        deviceAuthorizationEndpoint: String? = nil, revocationEndpoint: String? = nil
    ) {
        self.issuer = issuer
        self.authorizationEndpoint = authorizationEndpoint
        self.tokenEndpoint = tokenEndpoint
        self.deviceAuthorizationEndpoint = deviceAuthorizationEndpoint
        self.revocationEndpoint = revocationEndpoint
    }

    /// The global cloud's Microsoft identity platform host.
    public static let microsoftHost = "login.microsoftonline.com"

    /// Microsoft identity platform v2 endpoints for a tenant (`organizations`, `common`,
    /// `consumers`, a domain or a tenant id), on the global cloud or a national cloud's `host`.
    public static func microsoft(tenant: String, host: String = microsoftHost) -> ProviderMetadata {
        let base = "https://\(host)/\(tenant)/oauth2/v2.0"
        return ProviderMetadata(
            issuer: "https://\(host)/\(tenant)/v2.0",
            authorizationEndpoint: base + "/authorize", tokenEndpoint: base + "/token",
            deviceAuthorizationEndpoint: base + "/devicecode", revocationEndpoint: nil)
    }

    /// Google's endpoints (its discovery document says the same).
    public static let google = ProviderMetadata(
        issuer: "https://accounts.google.com", authorizationEndpoint: "https://accounts.google.com/o/oauth2/v2/auth",
        tokenEndpoint: "https://oauth2.googleapis.com/token",
        deviceAuthorizationEndpoint: "https://oauth2.googleapis.com/device/code",
        revocationEndpoint: "https://oauth2.googleapis.com/revoke")

    /// Reads a discovery document. `token_endpoint` is required; the rest is optional.
    public init(discoveryDocument json: JSONValue) throws(OAuthError) {
        guard json.isObject else { throw OAuthError.invalidResponse("the discovery document is not a JSON object") }
        guard let token = json["token_endpoint"]?.stringValue, !token.isEmpty else {
            throw OAuthError.invalidResponse("the discovery document names no token_endpoint")
        }
        self.init(
            issuer: json["issuer"]?.stringValue, authorizationEndpoint: json["authorization_endpoint"]?.stringValue,
            tokenEndpoint: token, deviceAuthorizationEndpoint: json["device_authorization_endpoint"]?.stringValue,
            revocationEndpoint: json["revocation_endpoint"]?.stringValue)
    }
}
