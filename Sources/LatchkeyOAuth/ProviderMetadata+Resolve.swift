import LatchkeyCore
import LatchkeyHTTP

extension ProviderMetadata {
    /// The provider's endpoints for an account: the explicit ones over a preset or OIDC
    /// discovery, and only safe ones. The daemon and `latchkey diagnose` both read them here, so
    /// diagnose passes exactly what the daemon accepts.
    ///
    /// Refresh tokens and device codes travel in request bodies: every endpoint must be https
    /// (plain http only to this machine), whatever a discovery document says. A refusal is an
    /// `OAuthError` with the code `insecure_endpoint`.
    public static func resolve(for config: AccountConfig, exchange: any OAuthExchange, options: HTTPOptions)
        async throws(OAuthError) -> ProviderMetadata
    {
        var discovered: ProviderMetadata?
        if config.provider == .oidc, let issuer = config.issuer {
            try checkIssuer(issuer)
            discovered = try await exchange.discover(issuer: issuer, options: options)
        }
        return try resolve(for: config, discovered: discovered)
    }

    /// The same from a discovery document already read (`discovered`: the issuer's, for an OIDC
    /// account with an `issuer`; nil otherwise) — diagnose reads it itself, to name every URL
    /// it tried.
    public static func resolve(for config: AccountConfig, discovered: ProviderMetadata?) throws(OAuthError)
        -> ProviderMetadata
    {
        var metadata: ProviderMetadata
        switch config.provider {
        case .microsoft: metadata = .microsoft(tenant: config.tenant)
        case .google: metadata = .google
        case .oidc: metadata = discovered ?? ProviderMetadata(tokenEndpoint: config.tokenEndpoint ?? "")
        }
        if let e = config.tokenEndpoint { metadata.tokenEndpoint = e }
        if let e = config.deviceAuthorizationEndpoint { metadata.deviceAuthorizationEndpoint = e }
        if let e = config.authorizationEndpoint { metadata.authorizationEndpoint = e }
        if let e = config.revocationEndpoint { metadata.revocationEndpoint = e }
        for endpoint in [
            metadata.tokenEndpoint, metadata.deviceAuthorizationEndpoint, metadata.revocationEndpoint,
            metadata.authorizationEndpoint,
        ].compactMap({ $0 }) where !isSafeEndpoint(endpoint) {
            throw OAuthError(
                kind: .provider(code: insecureEndpoint),
                message:
                    "the provider's endpoint \(endpoint) is not https; Latchkey sends no secret over plain http (fix the provider's discovery document or the account's endpoints)"
            )
        }
        return metadata
    }

    /// An issuer is discovered over https only (plain http only to this machine).
    public static func checkIssuer(_ issuer: String) throws(OAuthError) {
        guard isSafeEndpoint(issuer) else {
            throw OAuthError(
                kind: .provider(code: insecureEndpoint),
                message: "the issuer \(issuer) is not https; Latchkey discovers providers over https only")
        }
    }

    /// The code of a refused endpoint.
    public static let insecureEndpoint = "insecure_endpoint"

    /// https, or plain http to loopback (test providers, local proxies).
    public static func isSafeEndpoint(_ url: String) -> Bool {
        guard let parts = URLParts(url) else { return false }
        return parts.scheme == "https" || (parts.scheme == "http" && parts.isLoopback)
    }
}
