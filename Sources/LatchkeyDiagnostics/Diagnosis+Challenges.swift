import LatchkeyCore
import LatchkeyDiscovery
import LatchkeyHTTP
import LatchkeyOAuth

/// The diagnosis's checks of what the service challenges with and of the provider (its
/// metadata, through the daemon's one resolver).
extension Diagnosis {
    mutating func challenges(_ url: String) async {
        do {
            let (status, challenges) = try await Discovery(http: http, options: options).probe(url)
            let offered = challenges.map(\.offeredMethod)
            let schemes = challenges.map(\.scheme).joined(separator: ", ")
            if let method = account?.method, method != .auto {
                let accepted = [method] + (account?.fallback ?? [])
                if offered.contains(where: { $0.method.map(accepted.contains) == true }) {
                    add(
                        Finding(
                            "challenges", .pass,
                            "The service answers \(status) and offers \(schemes); \(method.rawValue) is among them."))
                } else {
                    add(
                        Finding(
                            "challenges", .fail, "The service offers \(schemes), not \(method.rawValue).",
                            remedy:
                                "Run `latchkey setup \(account?.email ?? "EMAIL") --url \(url) --dry-run` to see which method fits, and change method."
                        ))
                }
            } else {
                add(Finding("challenges", .pass, "The service answers \(status) and offers \(schemes)."))
            }
        } catch {
            add(Finding("challenges", .warn, error.message, remedy: error.hint))
        }
    }

    mutating func providerMetadata(_ account: AccountConfig) async {
        let found: ProviderMetadata
        var discovered: ProviderMetadata?
        do {
            if account.provider == .oidc, let issuer = account.issuer {
                try ProviderMetadata.checkIssuer(issuer)
                guard let document = await discoverIssuer(issuer) else { return }
                discovered = document
            }
            found = try ProviderMetadata.resolve(for: account, discovered: discovered)
        } catch {
            add(
                Finding(
                    "provider metadata", .fail, "The daemon refuses this provider: \(error.message).",
                    remedy: "Use https endpoints in [accounts.\(name)] (plain http only to this machine).",
                    area: .configuration))
            return
        }
        metadata = found
        let flows = [
            found.deviceAuthorizationEndpoint.map { _ in "device" }, found.authorizationEndpoint.map { _ in "browser" },
        ]
        .compactMap { $0 }.joined(separator: " and ")
        add(
            Finding(
                "provider metadata", .pass,
                "Token endpoint \(found.tokenEndpoint); sign-in by \(flows.isEmpty ? "no interactive flow" : flows)."))
    }
}
