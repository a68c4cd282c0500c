/// What a probe found, for method choice (SPEC.md §5 step 2).
public enum OfferedMethod: Sendable, Equatable {
    /// `Bearer`: OAuth. The issuer is derived from `authorization_uri` where its shape is known.
    case oauth(authorizationURI: String?, issuer: String?)
    /// `Negotiate` (also `Kerberos`).
    case kerberos
    case basic(realm: String?)
    /// Recognised, reported as not supported.
    case ntlm
    /// Any other scheme, as sent.
    case other(String)
}

extension AuthChallenge {
    /// The sign-in method this challenge offers.
    public var offeredMethod: OfferedMethod {
        switch scheme.lowercased() {
        case "bearer":
            // Microsoft resources send `authorization_uri`; Azure Key Vault and friends send `authorization`.
            let uri = [parameter("authorization_uri"), parameter("authorization")]
                .compactMap { $0 }
                .first { !$0.isEmpty }
            return .oauth(
                authorizationURI: uri,
                issuer: uri.flatMap(OAuthIssuer.derive(fromAuthorizationURI:))
            )
        case "negotiate", "kerberos":
            return .kerberos
        case "basic":
            return .basic(realm: parameter("realm"))
        case "ntlm":
            return .ntlm
        default:
            return .other(scheme)
        }
    }
}

/// Derives an OpenID issuer from an authorization endpoint, for OIDC discovery.
enum OAuthIssuer {
    /// Endpoint paths, longest first, whose removal leaves the issuer (Keycloak, generic OAuth servers).
    static let authorizationSuffixes = [
        "/protocol/openid-connect/auth", "/oauth2/authorize", "/authorize",
    ]

    /// `https://login.microsoftonline.com/{tenant}/oauth2/authorize`
    /// → `https://login.microsoftonline.com/{tenant}/v2.0`; elsewhere the URI less its query, fragment and a known
    /// authorization-endpoint suffix; nil when none matches.
    static func derive(fromAuthorizationURI uri: String) -> String? {
        var rest = Substring(uri)
        if let end = rest.firstIndex(where: { $0 == "?" || $0 == "#" }) { rest = rest[..<end] }
        guard let schemeEnd = rest.firstOccurrence(of: "://") else { return nil }
        let scheme = rest[..<schemeEnd.lowerBound].lowercased()
        guard scheme == "https" || scheme == "http" else { return nil }
        let afterScheme = rest[schemeEnd.upperBound...]
        let authority = afterScheme.prefix { $0 != "/" }
        let path = afterScheme.dropFirst(authority.count)
        guard !authority.isEmpty else { return nil }
        let origin = scheme + "://" + authority

        if MicrosoftAuthority.isMicrosoftHost(String(authority)) {
            guard let tenant = path.split(separator: "/").first, !tenant.isEmpty else { return nil }
            return origin + "/" + tenant + "/v2.0"
        }
        var trimmed = path
        while trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
        for suffix in authorizationSuffixes where trimmed.hasSuffix(suffix) {
            return origin + trimmed.dropLast(suffix.count)
        }
        return nil
    }
}
