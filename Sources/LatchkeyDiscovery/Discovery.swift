import LatchkeyCore
import LatchkeyHTTP
import LatchkeyOAuth

/// What to discover for: an address (Autodiscover finds the service) or a known service URL.
public struct DiscoveryRequest: Sendable {
    public var email: String?
    public var url: String?
    /// An Autodiscover host to ask instead of the address's domain.
    public var autodiscoverHost: String?
    public var preference: [AuthMethod]
    public var clientID: String?
    /// This machine's default Kerberos realm; nil when Kerberos is not configured here.
    public var kerberosRealm: String?
    /// The Exchange protocol the account is for, when the person says (else: what was found).
    public var exchangeProtocol: ExchangeProtocol?

    public init(
        email: String?, url: String?, autodiscoverHost: String? = nil,
        preference: [AuthMethod] = MethodChoice.defaultPreference,
        clientID: String? = nil, kerberosRealm: String? = nil, exchangeProtocol: ExchangeProtocol? = nil
    ) {
        self.email = email
        self.url = url
        self.autodiscoverHost = autodiscoverHost
        self.preference = preference
        self.clientID = clientID
        self.kerberosRealm = kerberosRealm
        self.exchangeProtocol = exchangeProtocol
    }
}

/// Everything a discovery found, for the person, the config that `setup` writes, and
/// `method = "auto"` at sign-in.
public struct DiscoveryReport: Sendable {
    public var email: String?
    public var serviceURL: String
    public var autodiscover: AutodiscoverResult?
    public var probeStatus: Int
    public var challenges: [AuthChallenge]
    public var choice: MethodChoice
    /// OAuth: where the provider is.
    public var issuer: String?
    public var provider: AccountConfig.Provider?
    public var tenant: String?
    public var metadata: ProviderMetadata?
    /// How the OAuth provider was found (or why not), one line each.
    public var oauthNotes: [String] = []
    /// Microsoft: the Exchange protocol whose scopes the account gets, and why that one.
    public var exchangeProtocol: ExchangeProtocol?
    public var exchangeProtocolReason: String?
    /// Kerberos: the realm of the principal to use.
    public var realm: String?

    /// Every line of explanation, in order: Autodiscover's trail, the challenges, the choice.
    public var explanation: [String] {
        var lines: [String] = []
        if let autodiscover {
            lines.append("Autodiscover for \(autodiscover.email):")
            lines += autodiscover.trail.map { "  " + $0 }
        }
        lines.append("The service \(serviceURL) answered \(probeStatus) with \(challenges.count) challenge(s):")
        lines += challenges.map { "  " + $0.headerValue }
        lines += oauthNotes
        if let issuer, choice.method == .oauth {
            lines.append("OAuth issuer \(issuer)" + (metadata.map { ": token endpoint \($0.tokenEndpoint)" } ?? ""))
        }
        lines.append("Method \(choice.method.rawValue), the first usable one in the preference order:")
        lines += choice.reasons.map { "  " + $0 }
        if choice.method == .oauth, provider == .microsoft, let exchangeProtocol {
            lines.append(
                "Scopes for \(exchangeProtocol.name) on Exchange Online (\(exchangeProtocolReason ?? "asked for")): "
                    + exchangeProtocol.scopes.joined(separator: " "))
        }
        // Every line holds text from the network: no line break or escape may survive in it.
        return lines.map(Self.printable)
    }

    /// Control characters shown as '?', so a hostile header cannot forge lines.
    static func printable(_ text: String) -> String {
        String(String.UnicodeScalarView(text.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7F ? "?" : $0 }))
    }
}

/// SPEC.md §5: Autodiscover, an unauthenticated probe of the service, OIDC discovery for an
/// OAuth issuer, and the method choice.
public struct Discovery: Sendable {
    public let http: HTTPClient
    public let options: HTTPOptions

    public init(http: HTTPClient, options: HTTPOptions) {
        self.http = http
        self.options = options
    }

    public func run(_ request: DiscoveryRequest) async throws(LatchkeyError) -> DiscoveryReport {
        var autodiscovered: AutodiscoverResult?
        let serviceURL: String
        if let url = request.url {
            serviceURL = url
        } else if let email = request.email {
            let found = try await Autodiscover(http: http, options: options).find(
                email: email, configured: request.autodiscoverHost)
            autodiscovered = found
            serviceURL = found.url
        } else {
            throw LatchkeyError(
                .badRequest, "Discovery needs an e-mail address or the service URL.",
                hint: "Set email or url for the account.")
        }
        guard let parts = URLParts(serviceURL), parts.scheme == "https" || parts.scheme == "http" else {
            throw LatchkeyError(
                .configuration, "The service URL \(serviceURL) is not an http(s) URL.",
                hint: "Give the service's https URL.")
        }
        let (status, challenges) = try await probe(serviceURL)
        let offered = challenges.map(\.offeredMethod)

        // OAuth: the provider from the challenge, then its metadata.
        var finding = OAuthFinding()
        if request.preference.contains(.oauth), let offer = offered.first(where: { $0.method == .oauth }),
            case .oauth(let authorizationURI, let derived) = offer
        {
            finding = await findProvider(
                authorizationURI: authorizationURI, derivedIssuer: derived,
                email: autodiscovered?.email ?? request.email)
        }
        let oauthProblem = finding.problem
        let metadata = finding.metadata

        let choice = try MethodChoice.choose(offered: offered, preference: request.preference) { method, offer in
            switch method {
            case .oauth:
                if let oauthProblem { return oauthProblem }
                if request.clientID == nil {
                    return "no client_id is known for this provider (give one with --client-id)"
                }
                if metadata?.deviceAuthorizationEndpoint == nil && metadata?.authorizationEndpoint == nil {
                    return "the provider offers neither the device flow nor an authorization endpoint"
                }
                return nil
            case .kerberos:
                return request.kerberosRealm == nil
                    ? "Kerberos is not configured on this machine (no default_realm in krb5.conf)" : nil
            case .basic:
                return Self.basicProblem(parts)
            case .auto:
                return "not a method"
            }
        }
        var report = DiscoveryReport(
            email: autodiscovered?.email ?? request.email, serviceURL: serviceURL, autodiscover: autodiscovered,
            probeStatus: status, challenges: challenges, choice: choice, issuer: finding.issuer,
            provider: finding.provider,
            tenant: finding.tenant, metadata: metadata, oauthNotes: finding.notes,
            realm: choice.method == .kerberos ? request.kerberosRealm : nil)
        if finding.provider == .microsoft {
            if let asked = request.exchangeProtocol {
                (report.exchangeProtocol, report.exchangeProtocolReason) = (asked, "--protocol \(asked.rawValue)")
            } else {
                (report.exchangeProtocol, report.exchangeProtocolReason) = ExchangeProtocol.found(
                    serviceURL: serviceURL, autodiscover: autodiscovered)
            }
        }
        return report
    }

    /// Why Basic cannot be used with a service URL: plain http to another machine, where the
    /// password could be read on the way. nil for https, and for http to this machine.
    public static func basicProblem(_ url: URLParts) -> String? {
        url.scheme == "https" || url.isLoopback
            ? nil : "the service URL is plain http to another machine, where a password could be read on the way"
    }

    /// An unauthenticated request to the service: its status and every challenge it sends.
    public func probe(_ url: String) async throws(LatchkeyError) -> (status: Int, challenges: [AuthChallenge]) {
        let response: HTTPResponse
        do {
            response = try await http.send(HTTPRequest(url: url, headers: [("Accept", "*/*")]), options: options)
        } catch {
            throw LatchkeyError(
                .providerUnavailable, "Cannot reach the service at \(url): \(error.message)",
                hint: "Check the URL, the network and, for a private CA, --ca-file.")
        }
        let challenges = WWWAuthenticate.parse(response.headers(named: "WWW-Authenticate"))
        guard response.status == 401 || !challenges.isEmpty else {
            throw LatchkeyError(
                .configuration,
                "The service at \(url) answered \(response.status) without asking for authentication, so it names no method.",
                hint:
                    "Check that the URL is the service's (for Exchange, …/Microsoft-Server-ActiveSync or …/EWS/Exchange.asmx)."
            )
        }
        guard !challenges.isEmpty else {
            throw LatchkeyError(
                .configuration, "The service at \(url) answered 401 without a WWW-Authenticate challenge.",
                hint: "Set the method in the account's config yourself.")
        }
        return (response.status, challenges)
    }
}
