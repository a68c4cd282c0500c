import LatchkeyCore
import LatchkeyHTTP
import LatchkeyOAuth

/// What discovery learnt about the OAuth provider from a Bearer challenge (SPEC.md §5 step 2):
/// the provider, its issuer and metadata, the tenant, and the lines that say how it was found;
/// or why OAuth cannot be used.
public struct OAuthFinding: Sendable {
    public var issuer: String?
    public var provider: AccountConfig.Provider?
    public var tenant: String?
    public var metadata: ProviderMetadata?
    /// Why OAuth cannot be used with this service; nil when it can.
    public var problem: String?
    /// How the provider was found, one line each, for the person and the config comments.
    public var notes: [String] = []
}

extension Discovery {
    /// The provider behind a Bearer challenge. A Microsoft authority (`authorization_uri` on a
    /// Microsoft identity platform host) is read as MSAL does: the authority is the URI without
    /// its `/oauth2/…` path, its v2.0 metadata is tried before the plain one, and the issuer
    /// must match the authority (the `{tenantid}` template for a multi-tenant authority).
    /// Elsewhere the issuer is derived from the URI and must be the metadata's own.
    func findProvider(authorizationURI: String?, derivedIssuer: String?, email: String?) async -> OAuthFinding {
        guard let authorizationURI else {
            return OAuthFinding(problem: "its Bearer challenge names no authorization_uri, so the provider is unknown")
        }
        if let authority = MicrosoftAuthority(authorizationURI: authorizationURI) {
            return await findMicrosoft(authority, email: email)
        }
        guard let derivedIssuer else {
            return OAuthFinding(problem: "no issuer can be derived from authorization_uri \(authorizationURI)")
        }
        var finding = OAuthFinding(issuer: derivedIssuer, provider: .oidc)
        var candidates: [(url: String, issuer: String)] = []
        if authorizationURI.includes("/oauth2/") {
            // A Microsoft-shaped authority elsewhere (AD FS, a custom domain): v2.0 first.
            candidates.append((derivedIssuer + "/v2.0/.well-known/openid-configuration", derivedIssuer + "/v2.0"))
        }
        candidates.append((derivedIssuer + "/.well-known/openid-configuration", derivedIssuer))
        candidates.append((derivedIssuer + "/.well-known/oauth-authorization-server", derivedIssuer))
        var tried: [String] = []
        for candidate in candidates {
            do {
                let found = try await OAuthClient(http: http).metadata(at: candidate.url, options: options)
                let named = found.issuer.map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 }
                guard named == candidate.issuer else {
                    tried.append("\(candidate.url): its issuer \(found.issuer ?? "(none)") is not \(candidate.issuer)")
                    continue
                }
                finding.issuer = candidate.issuer
                finding.metadata = found
                finding.notes.append("OIDC discovery at \(candidate.url): issuer \(candidate.issuer)")
                return finding
            } catch {
                tried.append("\(candidate.url): \(error.description)")
                if error.isTransient, case .transport = error.kind { break }
            }
        }
        finding.notes += tried.map { "OIDC discovery failed at " + $0 }
        finding.problem = "OIDC discovery at \(derivedIssuer) failed: " + tried.joined(separator: "; ")
        return finding
    }

    private func findMicrosoft(_ authority: MicrosoftAuthority, email: String?) async -> OAuthFinding {
        var finding = OAuthFinding(provider: .microsoft)
        finding.notes.append(
            "Microsoft identity platform (\(authority.host)): the authority \(authority.url) is the challenge's "
                + "authorization_uri without its /oauth2/ path")
        var problems: [String] = []
        for (index, url) in authority.metadataURLs.enumerated() {
            let v2 = index == 0
            do {
                let found = try await OAuthClient(http: http).metadata(at: url, options: options)
                let endpoints = [found.tokenEndpoint, found.authorizationEndpoint, found.deviceAuthorizationEndpoint]
                if let why = authority.issuerProblem(found.issuer ?? "(none)", v2: v2)
                    ?? endpoints.compactMap({ $0 }).lazy.compactMap(authority.endpointProblem).first
                {
                    problems.append("\(url): \(why)")
                    continue
                }
                finding.notes.append(
                    "\(v2 ? "v2.0" : "v1") metadata at \(url): issuer \(found.issuer ?? "") matches the authority")
                finding.metadata = found
                break
            } catch {
                problems.append("\(url): \(error.description)")
                if error.isTransient, case .transport = error.kind { break }
            }
        }
        finding.notes += problems.map { "Metadata refused or missing at " + $0 }
        guard finding.metadata != nil else {
            finding.problem =
                "the Microsoft authority \(authority.url) has no usable metadata: " + problems.joined(separator: "; ")
            return finding
        }
        let tenant: String
        if authority.namesTenant {
            tenant = authority.tenant
            finding.notes.append("Tenant \(tenant): named by the challenge's authorization_uri")
        } else if let domain = email.flatMap(Self.domain), MicrosoftAuthority.isTenantSegment(domain) {
            tenant = domain
            finding.notes.append(
                "Tenant \(tenant): the domain of \(email ?? "") (the challenge names only '\(authority.tenant)')")
        } else {
            tenant = "organizations"
            finding.notes.append(
                "Tenant organizations: the challenge names only '\(authority.tenant)' and no address is known")
        }
        let host = authority.cloudHosts.first ?? authority.host
        finding.tenant = tenant
        finding.issuer = "https://\(host)/\(tenant)/v2.0"
        finding.metadata = ProviderMetadata.microsoft(tenant: tenant, host: host)
        return finding
    }

    /// `alice@contoso.example` → `contoso.example`.
    static func domain(_ email: String) -> String? {
        guard let at = email.lastIndex(of: "@") else { return nil }
        let domain = email[email.index(after: at)...].lowercased()
        return domain.isEmpty ? nil : domain
    }
}
