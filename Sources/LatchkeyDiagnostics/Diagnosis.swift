import LatchkeyBlocking
import LatchkeyClient
import LatchkeyCore
import LatchkeyCrypto
import LatchkeyDiscovery
import LatchkeyGSS
import LatchkeyHTTP
import LatchkeyOAuth
import LatchkeyStore

#if canImport(Glibc)
    import Glibc
#endif

/// What a diagnosis needs: the account (or only an address), where its secrets are, and the
/// daemon when one runs (then tokens and headers come from it, so nothing it holds is
/// disturbed).
public struct DiagnosisInput: Sendable {
    public var name: String
    public var account: AccountConfig?
    public var email: String?
    public var store: (any CredentialStore)?
    public var daemon: DaemonClient?
    public var kerberosRealm: String?
    /// For an address not set up yet: where to ask Autodiscover, and an extra CA.
    public var autodiscoverHost: String?
    public var caFile: String?
    /// Where the daemon keeps the last sign-in and refresh errors (`ErrorJournal`).
    public var errorJournal: String?

    public init(
        name: String, account: AccountConfig?, email: String?, store: (any CredentialStore)?, daemon: DaemonClient?,
        kerberosRealm: String?, autodiscoverHost: String? = nil, caFile: String? = nil, errorJournal: String? = nil
    ) {
        self.errorJournal = errorJournal
        self.autodiscoverHost = autodiscoverHost
        self.caFile = caFile
        self.name = name
        self.account = account
        self.email = email
        self.store = store
        self.daemon = daemon
        self.kerberosRealm = kerberosRealm
    }
}

/// SPEC.md §8: the path from this machine to the service, one check at a time, stopping at the
/// first failure.
public struct Diagnosis {
    let input: DiagnosisInput
    let http = HTTPClient()
    public private(set) var report: Report
    var serviceURL: String?
    var metadata: ProviderMetadata?
    /// A token or header value to try against the service at the end (never shown).
    var freshToken: Secret<String>?

    public init(_ input: DiagnosisInput, report: Report) {
        self.input = input
        self.report = report
        serviceURL = input.account?.url
    }

    var account: AccountConfig? { input.account }
    var name: String { input.name }
    var caFile: String? { account?.caFile ?? input.caFile }
    var options: HTTPOptions { HTTPOptions(caFile: caFile, connectTimeout: 5, totalTimeout: 15) }
    var stopped: Bool { report.failed != nil }

    /// Adds a finding; false once anything failed.
    @discardableResult
    mutating func add(_ finding: Finding) -> Bool {
        report.findings.append(finding)
        return finding.status != .fail
    }

    public mutating func run() async -> Report {
        guard !stopped else { return report }
        if serviceURL == nil, let email = account?.email ?? input.email, account == nil || account?.method == .auto {
            await autodiscover(email)
        }
        var endpoints: [String] = []
        if let serviceURL { endpoints.append(serviceURL) }
        if let account, account.method == .oauth || account.method == .auto, let provider = providerURL(account) {
            endpoints.append(provider)
        }
        var seen: [String] = []
        for url in endpoints where !stopped {
            // One host and port is checked once, even when the service and the provider share it.
            guard let parts = URLParts(url) else { continue }
            let origin = "\(parts.scheme)://\(parts.host):\(parts.port ?? 0)"
            if seen.contains(origin) { continue }
            seen.append(origin)
            await network(url)
        }
        if !stopped, let serviceURL { await challenges(serviceURL) }
        guard !stopped, let account else { return report }
        switch account.method {
        case .oauth:
            await providerMetadata(account)
            if !stopped { await preflight(account) }
            if !stopped { await storeReachable() }
            if !stopped { remembered() }
            if !stopped { await oauthToken(account) }
        case .kerberos:
            remembered()
            if !stopped { await kerberos(account) }
        case .basic:
            await storeReachable()
            if !stopped { remembered() }
            if !stopped { await basicPassword(account) }
        case .auto:
            add(
                Finding(
                    "method", .warn, "method = \"auto\": the daemon chooses at sign-in from what the service offers.",
                    remedy: "Run `latchkey setup` to fix the method in the config."))
        }
        if !stopped, serviceURL != nil, account.method != .auto { await request(account) }
        if !stopped { await mail(account) }
        return report
    }

    // MARK: Autodiscover and network

    mutating func autodiscover(_ email: String) async {
        do {
            let found = try await Autodiscover(http: http, options: options).find(
                email: email, configured: input.autodiscoverHost)
            serviceURL = found.url
            add(Finding("autodiscover", .pass, "\(found.service.rawValue) for \(found.email) is at \(found.url)."))
        } catch {
            add(
                Finding(
                    "autodiscover", .fail, error.message.split(separator: "\n").first.map(String.init) ?? error.message,
                    remedy: error.hint, area: error.code == .providerUnavailable ? .network : .configuration))
        }
    }

    func providerURL(_ account: AccountConfig) -> String? {
        if let endpoint = account.tokenEndpoint { return endpoint }
        switch account.provider {
        case .microsoft: return ProviderMetadata.microsoft(tenant: account.tenant).tokenEndpoint
        case .google: return ProviderMetadata.google.tokenEndpoint
        case .oidc: return account.issuer
        }
    }

    /// DNS, TCP, TLS (https) and the clock, for one URL.
    mutating func network(_ url: String) async {
        guard let parts = URLParts(url) else {
            add(Finding("url", .fail, "\(url) is not an http(s) URL.", remedy: "Fix url in [accounts.\(name)]."))
            return
        }
        let port = parts.port ?? (parts.scheme == "https" ? 443 : 80)
        let host = parts.host
        // getaddrinfo, connect and the TLS handshake block: off the cooperative pool.
        let addresses = await Blocking.run { Network.resolve(host) }
        guard !addresses.isEmpty else {
            add(
                Finding(
                    "dns \(host)", .fail, "The name \(host) does not resolve.",
                    remedy: "Check the host name in the config, the DNS server and the VPN.", area: .network))
            return
        }
        add(Finding("dns \(host)", .pass, "\(host) is \(addresses.prefix(3).joined(separator: ", "))."))
        if let error = await Blocking.run({ Network.connect(host, port) }) {
            add(
                Finding(
                    "tcp \(host):\(port)", .fail, error,
                    remedy: "Check that the service runs and that no firewall or proxy is in the way.", area: .network))
            return
        }
        add(Finding("tcp \(host):\(port)", .pass, "\(host):\(port) accepts connections."))
        if parts.scheme == "https" {
            guard await tls(host: host, port: port) else { return }
        }
        await clock(url)
    }

    mutating func tls(host: String, port: Int) async -> Bool {
        let check = "tls \(host):\(port)"
        let report: TLSReport
        do {
            let caFile = self.caFile
            report = try await Blocking.run { () throws(LatchkeyError) in
                try TLSInspector.inspect(host: host, port: port, caFile: caFile, timeout: 5)
            }
        } catch {
            return add(Finding(check, .fail, error.message, remedy: error.hint, area: .network))
        }
        let certificate =
            "subject \(report.subject), issuer \(report.issuer), valid \(report.notBefore) to \(report.notAfter)"
        switch report.verifyCode {
        case 0:
            return add(Finding(check, .pass, "\(report.protocolVersion); the certificate verifies: \(certificate)."))
        case TLSReport.Code.expired:
            return add(
                Finding(
                    check, .fail, "The server's certificate has expired (\(report.notAfter)): \(certificate).",
                    remedy: "The service's administrator must renew the certificate.", area: .network))
        case TLSReport.Code.notYetValid:
            return add(
                Finding(
                    check, .fail,
                    "The server's certificate is not valid yet (from \(report.notBefore)); is this machine's clock right?",
                    remedy: "Check the clock (timedatectl); else the administrator must fix the certificate.",
                    area: .network))
        case TLSReport.Code.hostnameMismatch, TLSReport.Code.ipMismatch:
            return add(
                Finding(
                    check, .fail, "The certificate is not for \(host) (host name mismatch): \(certificate).",
                    remedy:
                        "Use the host name the certificate names, or ask the administrator for a certificate for \(host).",
                    area: .network))
        case TLSReport.Code.unknownIssuer, TLSReport.Code.selfSigned, TLSReport.Code.selfSignedInChain,
            TLSReport.Code.unableToVerifyLeaf:
            let extra = caFile.map { " (nor by ca_file \($0))" } ?? ""
            return add(
                Finding(
                    check, .fail,
                    "The certificate is not issued by a CA this machine trusts\(extra): \(report.verifyText); \(certificate).",
                    remedy:
                        "Set ca_file in [accounts.\(name)] to the organisation's CA (PEM), or install it in the system's trust store.",
                    area: .network))
        default:
            return add(
                Finding(
                    check, .fail, "The certificate does not verify: \(report.verifyText); \(certificate).",
                    remedy: "Ask the service's administrator.", area: .network))
        }
    }

    /// The server's `Date` against this machine's clock: Kerberos allows 5 minutes, and token
    /// lifetimes are read against the local clock.
    mutating func clock(_ url: String) async {
        let host = URLParts(url)?.host ?? url
        guard let response = try? await http.send(HTTPRequest(method: "GET", url: url), options: options),
            let date = response.header("Date"), let server = HTTPDate.parse(date)
        else { return }
        let skew = server - Double(time(nil))
        let words =
            "\(host)'s clock is \(Int(clamping: abs(skew)) ?? 0) s \(skew > 0 ? "ahead of" : "behind") this machine's"
        if abs(skew) > 300 {
            add(
                Finding(
                    "clock \(host)", .fail, words + " (Date: \(date)); Kerberos and token lifetimes allow 5 minutes.",
                    remedy:
                        "Synchronise this machine's clock (timedatectl set-ntp true); if it is right, the server's is wrong.",
                    area: .configuration))
        } else if abs(skew) > 60 {
            add(
                Finding(
                    "clock \(host)", .warn, words + ".", remedy: "Synchronise the clock (timedatectl set-ntp true)."))
        } else {
            add(
                Finding(
                    "clock \(host)", .pass,
                    "\(host)'s clock agrees with this machine's (within \(Int(clamping: abs(skew)) ?? 0) s)."))
        }
    }
}
