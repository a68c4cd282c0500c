import LatchkeyCore
import LatchkeyHTTP
import LatchkeyOAuth

/// One URL tried and what came of it, for a finding that names what was tried.
struct Attempt: Sendable {
    var url: String
    var status: Int?
    var error: String?

    /// "https://…/x (HTTP 404)", or "https://…/x (cannot connect to …)".
    var described: String {
        if let status { return "\(url) (HTTP \(status)\(error.map { ": " + $0 } ?? ""))" }
        return "\(url) (\(error ?? "no answer"))"
    }
}

extension Diagnosis {
    /// OIDC discovery (RFC 8414 / OpenID Connect Discovery), each well-known URL tried in turn;
    /// a failure names every URL, its HTTP status and what was expected there.
    mutating func discoverIssuer(_ issuer: String) async -> ProviderMetadata? {
        var tried: [Attempt] = []
        var transient = false
        for url in OAuthClient.discoveryURLs(issuer: issuer) {
            let response: HTTPResponse
            do {
                response = try await http.send(
                    HTTPRequest(url: url, headers: [("Accept", "application/json")]), options: options)
            } catch {
                tried.append(Attempt(url: url, error: OAuthClient.describe(error, url: url)))
                transient = true
                break
            }
            guard (200..<300).contains(response.status) else {
                tried.append(Attempt(url: url, status: response.status))
                continue
            }
            do {
                return try ProviderMetadata(discoveryDocument: OAuthClient.read(response, provider: url))
            } catch {
                tried.append(
                    Attempt(url: url, status: response.status, error: "not a discovery document: \(error.description)"))
            }
        }
        let first = tried.first.map(\.described) ?? issuer
        let rest = tried.dropFirst().map { ", nor at " + $0.described }.joined()
        add(
            Finding(
                "provider metadata", .fail, "There is no OIDC discovery document at \(first)\(rest).",
                remedy: transient
                    ? "Check the network path to the issuer (the checks above), then run diagnose again."
                    : "Check `issuer` in [accounts.\(name)]: it must be the URL the provider serves "
                        + "/.well-known/openid-configuration under (Entra ID: https://login.microsoftonline.com/TENANT/v2.0), "
                        + "or set token_endpoint and device_authorization_endpoint there instead.",
                area: transient ? .network : .configuration))
        return nil
    }
}
