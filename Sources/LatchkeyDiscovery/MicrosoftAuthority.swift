/// A Microsoft identity platform authority, read from the `authorization_uri` of a Bearer
/// challenge (Exchange Online sends `https://login.microsoftonline.com/common/oauth2/authorize`):
/// the cloud's host and the tenant segment, without the `/oauth2/…` path.
///
/// Hosts (Microsoft identity platform, "National clouds", learn.microsoft.com/entra/identity-platform/
/// authentication-national-cloud; MSAL's cloud instances): the global cloud `login.microsoftonline.com`
/// (aliases `login.windows.net`, `login.microsoft.com`, `sts.windows.net`), Azure Government
/// `login.microsoftonline.us`, and Azure operated by 21Vianet `login.partner.microsoftonline.cn`
/// (MSAL's older `login.chinacloudapi.cn`). Only these names, over https on the default port, are
/// the `microsoft` preset: the certificate is verified for that name as for any host, so nothing
/// else can pass for Microsoft unless the person trusts a CA that vouches for the name.
public struct MicrosoftAuthority: Sendable, Equatable {
    /// The host as sent, lower-cased, e.g. `login.microsoftonline.com`.
    public var host: String
    /// The first path segment: `common`, `organizations`, `consumers`, a tenant id or a domain.
    public var tenant: String

    /// Each cloud's hosts: the first is the one its endpoints use.
    static let clouds: [[String]] = [
        ["login.microsoftonline.com", "login.windows.net", "login.microsoft.com", "sts.windows.net"],
        ["login.microsoftonline.us"],
        ["login.partner.microsoftonline.cn", "login.chinacloudapi.cn"],
    ]

    /// The tenant segments that name no tenant (the multi-tenant authorities).
    static let multiTenant: Set<String> = ["common", "organizations", "consumers"]

    public static func isMicrosoftHost(_ host: String) -> Bool {
        clouds.contains { $0.contains(host.lowercased()) }
    }

    /// nil unless `uri` is `https://{a Microsoft host}/{tenant}/…` (no port, no user info).
    public init?(authorizationURI uri: String) {
        var rest = Substring(uri)
        if let end = rest.firstIndex(where: { $0 == "?" || $0 == "#" }) { rest = rest[..<end] }
        guard rest.lowercased().hasPrefix("https://") else { return nil }
        rest = rest.dropFirst("https://".count)
        let authority = rest.prefix { $0 != "/" }
        guard Self.isMicrosoftHost(String(authority)) else { return nil }
        let segments = rest.dropFirst(authority.count).split(separator: "/")
        guard let tenant = segments.first, Self.isTenantSegment(tenant) else { return nil }
        host = authority.lowercased()
        self.tenant = String(tenant)
    }

    /// `https://host/tenant`: where the metadata and the endpoints are.
    public var url: String { "https://\(host)/\(tenant)" }

    /// Where the v2.0 metadata is, then the plain (v1) one: the order MSAL and Outlook use.
    public var metadataURLs: [String] {
        [url + "/v2.0/.well-known/openid-configuration", url + "/.well-known/openid-configuration"]
    }

    public var isMultiTenant: Bool { Self.multiTenant.contains(tenant.lowercased()) }

    /// Whether the challenge named a tenant (an id or a domain) rather than a multi-tenant authority.
    public var namesTenant: Bool { !isMultiTenant }

    var cloudHosts: [String] { Self.clouds.first { $0.contains(host) } ?? [host] }

    /// Why `issuer` is not this authority's, or nil when it is. The issuer of a multi-tenant
    /// authority is the template `https://{host}/{tenantid}/v2.0` (the placeholder as such);
    /// a tenant's issuer names the tenant's id. v1 issuers have the shape `https://{host}/{x}/`.
    /// Every other issuer is refused: its host must be of the same cloud, and nothing may follow.
    public func issuerProblem(_ issuer: String, v2: Bool) -> String? {
        let mismatch = "the issuer \(issuer) is not the one of the authority \(url)"
        guard issuer.hasPrefix("https://") else { return mismatch }
        let rest = issuer.dropFirst("https://".count)
        let host = rest.prefix { $0 != "/" }
        guard cloudHosts.contains(String(host)) else { return mismatch + " (another host)" }
        var path = rest.dropFirst(host.count).split(separator: "/", omittingEmptySubsequences: false).dropFirst()
        if v2 {
            guard path.count == 2, path.last == "v2.0" else { return mismatch }
        } else {
            if path.last == "" { path = path.dropLast() }
            guard path.count == 1 else { return mismatch }
        }
        guard let named = path.first else { return mismatch }
        if named == "{tenantid}" {
            return tenant.lowercased() == "common" || tenant.lowercased() == "organizations"
                ? nil : mismatch + " (the {tenantid} template belongs to a multi-tenant authority)"
        }
        guard Self.isTenantID(named) else { return mismatch }
        if Self.isTenantID(tenant) && named.lowercased() != tenant.lowercased() {
            return mismatch + " (another tenant)"
        }
        if tenant.lowercased() == "common" || tenant.lowercased() == "organizations" {
            return mismatch + " (a multi-tenant authority's issuer is the {tenantid} template)"
        }
        return nil
    }

    /// Why an endpoint of the metadata cannot be used: not https on a host of this cloud.
    public func endpointProblem(_ endpoint: String) -> String? {
        guard endpoint.hasPrefix("https://") else { return "the endpoint \(endpoint) is not https" }
        let host = endpoint.dropFirst("https://".count).prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        return cloudHosts.contains(String(host))
            ? nil : "the endpoint \(endpoint) is not on a host of \(self.host)'s cloud"
    }

    /// A GUID as Entra writes tenant ids: 8-4-4-4-12 hexadecimal digits.
    static func isTenantID<S: StringProtocol>(_ text: S) -> Bool {
        let groups = text.split(separator: "-", omittingEmptySubsequences: false)
        return groups.map(\.count) == [8, 4, 4, 4, 12] && groups.allSatisfy { $0.allSatisfy(\.isHexDigit) }
    }

    /// A tenant segment: a tenant id, a multi-tenant name or a domain (letters, digits, '-', '.').
    static func isTenantSegment<S: StringProtocol>(_ text: S) -> Bool {
        !text.isEmpty && text.count <= 255
            && text.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == ".") }
    }
}
