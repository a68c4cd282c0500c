import LatchkeyCore
import LatchkeyDiscovery
import LatchkeyGSS
import Logging

extension Broker {
    /// `method = "auto"`: discovers the method (SPEC.md §5) the first time the account is
    /// used — at sign-in, or at the first token or header after a start — and keeps the result
    /// in memory until the config is read again. The account's `url` (or else Autodiscover
    /// from its `email`) is probed; the choice and its reasons go to the log.
    func resolveAutoMethod(_ name: String) async throws(LatchkeyError) {
        guard let config = accounts[name]?.config, config.method == .auto else { return }
        let request = DiscoveryRequest(
            email: config.email, url: config.url, preference: MethodChoice.defaultPreference, clientID: config.clientID,
            kerberosRealm: Kerberos.defaultRealm())
        let report: DiscoveryReport
        do {
            report = try await Discovery(http: oauth.http, options: httpOptions(config)).run(request)
        } catch {
            throw LatchkeyError(
                error.code, "Discovering how '\(name)' signs in failed: \(error.message)",
                hint: error.hint.isEmpty
                    ? "Set method in [accounts.\(name)], or run `latchkey setup` to see what is found." : error.hint,
                retryAfter: error.retryAfter)
        }
        // A reload may have replaced the account meanwhile: apply only to the one asked about.
        guard accounts[name]?.config == config else { return }
        accounts[name]!.config = Self.applying(report, to: config)
        logger.info(
            "method discovered",
            metadata: [
                "account": "\(name)", "method": "\(report.choice.method.rawValue)", "url": "\(report.serviceURL)",
                "reasons": "\(report.choice.reasons.joined(separator: "; "))",
            ])
    }

    /// The account's settings with what discovery found filled in where the config is silent.
    static func applying(_ report: DiscoveryReport, to original: AccountConfig) -> AccountConfig {
        var config = original
        config.method = report.choice.method
        config.url = report.serviceURL
        if config.email == nil { config.email = report.email }
        switch report.choice.method {
        case .oauth:
            config.provider = report.provider ?? .oidc
            if let tenant = report.tenant { config.tenant = tenant }
            // A national cloud's endpoints: the microsoft preset names the global cloud's.
            if config.provider == .microsoft, let found = report.metadata, found != .microsoft(tenant: config.tenant) {
                config.tokenEndpoint = config.tokenEndpoint ?? found.tokenEndpoint
                config.authorizationEndpoint = config.authorizationEndpoint ?? found.authorizationEndpoint
                config.deviceAuthorizationEndpoint =
                    config.deviceAuthorizationEndpoint ?? found.deviceAuthorizationEndpoint
            }
            if config.issuer == nil { config.issuer = report.issuer }
            if config.scopes.isEmpty {
                config.scopes =
                    AccountSection(
                        name: config.name, report: report, clientID: nil, caFile: nil, scopes: nil, username: nil
                    ).effectiveScopes
            }
        case .kerberos:
            if config.principal == nil, let realm = report.realm, let email = config.email,
                let at = email.lastIndex(of: "@")
            {
                config.principal = email[..<at] + "@" + realm
            }
            if config.fallback.isEmpty && report.choice.alternatives.contains(.basic) { config.fallback = [.basic] }
        case .basic, .auto:
            break
        }
        if config.username == nil { config.username = config.email }
        return config
    }
}
