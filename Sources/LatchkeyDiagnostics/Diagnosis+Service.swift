import LatchkeyClient
import LatchkeyCore
import LatchkeyDiscovery
import LatchkeyGSS
import LatchkeyHTTP
import LatchkeyOAuth
import LatchkeyStore

#if canImport(Glibc)
    import Glibc
#endif

extension Diagnosis {
    // MARK: Kerberos

    mutating func kerberos(_ account: AccountConfig) async {
        guard let realm = input.kerberosRealm else {
            add(
                Finding(
                    "kerberos realm", .fail,
                    "Kerberos is not configured on this machine: krb5.conf names no default_realm.",
                    remedy: "Install krb5-user and set default_realm (and the realm's KDCs) in /etc/krb5.conf."))
            return
        }
        add(Finding("kerberos realm", .pass, "The default realm is \(realm)."))
        let principal = account.principal
        switch await Kerberos.offPool({ () throws(KerberosError) in
            try Kerberos.ticketStatus(principal: principal, cache: nil)
        }) {
        case .success(let status):
            let renew =
                status.renewableSecondsLeft > 0 ? ", renewable for \(status.renewableSecondsLeft) s" : ", not renewable"
            add(
                Finding(
                    "kerberos ticket", .pass, "\(status.principal) has a ticket for \(status.secondsLeft) s\(renew)."))
        case .failure(let error):
            let expired = error.kind == .expired
            add(
                Finding(
                    "kerberos ticket", .fail,
                    expired
                        ? "The Kerberos ticket has expired: \(error.message)"
                        : "There is no Kerberos ticket: \(error.message)",
                    remedy: "Run `latchkey login \(name)` (or kinit \(principal ?? "")).", area: .signIn))
            return
        }
        let service: String
        if let configured = account.service {
            service = configured
        } else if let host = (serviceURL ?? account.url).flatMap(URLParts.init)?.host {
            service = "HTTP@" + host
        } else {
            add(
                Finding(
                    "service ticket", .fail, "Latchkey cannot tell which service '\(name)' is for.",
                    remedy: "Set url or service in [accounts.\(name)]."))
            return
        }
        switch await Kerberos.offPool({ () throws(KerberosError) in
            try Kerberos.negotiateToken(service: service, principal: principal, cache: nil)
        }) {
        case .success(let token):
            add(
                Finding(
                    "service ticket", .pass, "A service ticket for \(service) was issued; the SPNEGO token is ready."))
            freshToken = Secret("Negotiate " + Base64.encode(token.reveal()))
        case .failure(let error):
            let (finding, remedy, area): (String, String, Finding.Area) =
                switch error.kind {
                case .kdcUnreachable:
                    (
                        "The KDC cannot be reached: \(error.message)",
                        "Check the network, the VPN and that the realm's KDC runs (kdc in krb5.conf).", .network
                    )
                case .unknownServer:
                    (
                        "The KDC does not know the service \(service) (wrong SPN?): \(error.message)",
                        "Set url (or service = \"HTTP@host\") in [accounts.\(name)] to the name in the server's keytab.",
                        .configuration
                    )
                case .clockSkew:
                    (
                        "The clocks of this machine and the KDC differ too much: \(error.message)",
                        "Synchronise the clock (timedatectl set-ntp true).", .configuration
                    )
                case .expired, .noCredentials:
                    ("No usable ticket: \(error.message)", "Run `latchkey login \(name)` (or kinit).", .signIn)
                default:
                    (
                        "Kerberos failed: \(error.message)",
                        "Run `latchkey diagnose \(name)` again; if it persists, check krb5.conf.", .network
                    )
                }
            add(Finding("service ticket", .fail, finding, remedy: remedy, area: area))
        }
    }

    // MARK: Basic

    mutating func basicPassword(_ account: AccountConfig) async {
        guard let store = input.store else { return }
        let password: Secret<String>?
        do {
            password = try await store.read(account: name, kind: .password)
        } catch {
            add(
                Finding(
                    "credential", .fail, "The password cannot be read: \(error.message)", remedy: "Unlock the keyring.",
                    area: .signIn))
            return
        }
        guard let password else {
            let running = input.daemon != nil && !store.isPersistent
            add(
                Finding(
                    "credential", running ? .warn : .fail,
                    running
                        ? "The password lives in the daemon's memory; it is tried against the service next."
                        : "There is no password for '\(name)' in the \(store.name) store.",
                    remedy: running ? "" : "Run `latchkey login \(name)`.", area: .signIn))
            return
        }
        add(Finding("credential", .pass, "A password for '\(name)' is in the \(store.name) store."))
        let user = account.username ?? account.email ?? ""
        freshToken = Secret("Basic " + Base64.encode(Array("\(user):\(password.reveal())".utf8)))
    }

    // MARK: The request

    /// A real request to the service with the header, the last word.
    mutating func request(_ account: AccountConfig) async {
        guard let url = serviceURL else { return }
        var header = freshToken.map { value -> Secret<String> in
            value.reveal().contains(" ") ? value : Secret("Bearer " + value.reveal())
        }
        if header == nil || account.method == .kerberos, let daemon = input.daemon,
            let response = try? daemon.request("GET", "/v1/accounts/\(name)/header?url=\(FormEncoding.escape(url))")
        {
            if let error = response.error {
                add(
                    Finding(
                        "request", .fail, error.message, remedy: error.hint,
                        area: error.code == .signinRequired ? .signIn : .network))
                return
            }
            if let value = response.json?["value"]?.stringValue { header = Secret(value) }
        }
        guard let header else { return }
        let response: HTTPResponse
        do {
            response = try await http.send(
                HTTPRequest(url: url, headers: [("Authorization", header.reveal())]), options: options)
        } catch {
            add(
                Finding(
                    "request", .fail, "GET \(url) with the credential failed: \(error.message)",
                    remedy: "Check the network path to the service (the checks above), then run diagnose again.",
                    area: .network))
            return
        }
        let scheme = header.reveal().split(separator: " ").first.map(String.init) ?? "?"
        if (200..<400).contains(response.status) {
            add(Finding("request", .pass, "\(url) accepted the \(scheme) header (\(response.status))."))
            return
        }
        let challenge = WWWAuthenticate.parse(response.headers(named: "WWW-Authenticate")).first
        let said = [challenge?.parameter("error"), challenge?.parameter("error_description")].compactMap { $0 }.joined(
            separator: ": ")
        if response.status == 401 && account.method == .basic {
            add(
                Finding(
                    "request", .fail, "GET \(url) refused the user name and password (HTTP 401).",
                    remedy: "Run `latchkey login \(name)` and type the current password.", area: .signIn))
        } else if response.status == 401 {
            add(
                Finding(
                    "request", .fail,
                    "GET \(url) refused the \(scheme) header (HTTP 401\(said.isEmpty ? "" : ", " + said)).",
                    remedy: said.includes("insufficient_claims")
                        ? "Run `latchkey challenge \(name) --www-authenticate '…'` from the client, or `latchkey login \(name)`."
                        : "Check the account's scopes (the token's aud and scp above) against what the service needs.",
                    area: .signIn))
        } else {
            add(
                Finding(
                    "request", .warn,
                    "GET \(url) answered HTTP \(response.status) with the \(scheme) header; 2xx, 3xx or 401 was expected.",
                    remedy: "The header was accepted or not judged; the service's answer may need a different URL."))
        }
    }
}
