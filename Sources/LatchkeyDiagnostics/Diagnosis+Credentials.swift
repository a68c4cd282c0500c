import LatchkeyClient
import LatchkeyCore
import LatchkeyGSS
import LatchkeyHTTP
import LatchkeyOAuth
import LatchkeyStore

#if canImport(Glibc)
    import Glibc
#endif

extension Diagnosis {
    // MARK: The store

    mutating func storeReachable() async {
        guard let store = input.store else { return }
        if let keyring = store as? SecretServiceStore {
            do {
                let collection = try await keyring.probe()
                if collection.locked {
                    add(
                        Finding(
                            "store", .fail,
                            "The keyring '\(collection.label)' is locked, so no stored credential can be read.",
                            remedy:
                                "Unlock it: log in to the desktop session, or run `gnome-keyring-daemon --unlock` (or use seahorse).",
                            area: .signIn))
                } else {
                    add(
                        Finding(
                            "store", .pass,
                            "The Secret Service answers and the keyring '\(collection.label)' is unlocked."))
                }
            } catch {
                add(
                    Finding(
                        "store", .fail, "The Secret Service cannot be used: \(error.message)",
                        remedy:
                            "Start a keyring (gnome-keyring-daemon, KeePassXC's Secret Service) in this session, or set store = \"file\" in [broker].",
                        area: .configuration))
            }
        } else {
            add(
                Finding(
                    "store", store.isPersistent ? .pass : .warn,
                    "Secrets are kept in the \(store.name) store."
                        + (store.isPersistent ? "" : " A restart of the daemon needs a new sign-in."),
                    remedy: store.isPersistent
                        ? "" : "Use the Secret Service or store = \"file\" to keep sign-ins across restarts."))
        }
    }

    // MARK: OAuth

    mutating func oauthToken(_ account: AccountConfig) async {
        if let daemon = input.daemon {
            await oauthThroughDaemon(daemon)
            return
        }
        guard let store = input.store, store.isPersistent else {
            add(
                Finding(
                    "credential", .fail,
                    "No daemon runs and the store keeps nothing across restarts, so there is no sign-in to check.",
                    remedy: "Run `latchkey login \(name)`.", area: .signIn))
            return
        }
        let refresh = try? await store.read(account: name, kind: .refreshToken)
        let storedItem = (try? await store.read(account: name, kind: .accessToken)) ?? nil
        let stored = storedItem.flatMap(StoredAccessToken.decode)
        guard let refresh = refresh ?? nil else {
            add(
                Finding(
                    "credential", .fail,
                    "There is no refresh token for '\(name)' in the \(store.name) store: not signed in.",
                    remedy: "Run `latchkey login \(name)`.", area: .signIn))
            return
        }
        add(Finding("credential", .pass, "A refresh token for '\(name)' is in the \(store.name) store."))
        if let stored { claims(stored.value) }
        guard let metadata else { return }
        do {
            let response = try await OAuthClient(http: http).refresh(
                tokenEndpoint: metadata.tokenEndpoint, clientID: account.clientID ?? "", refreshToken: refresh,
                scopes: account.scopes,
                options: options)
            // Rotation: the new refresh token replaces the old at once, as the daemon would.
            if let rotated = response.refreshToken {
                try? await store.write(account: name, kind: .refreshToken, value: rotated)
            }
            let now = Timestamp(secondsSinceEpoch: Double(time(nil)))
            let token = response.accessToken(issuedAt: now, requestedScopes: account.scopes)
            // The session's record stays with the token: the refresh token was used (and rotated).
            var session = storedItem.map(StoredAccessToken.session) ?? SessionLife()
            session.refreshUsedAt = now
            if response.refreshToken != nil { session.refreshRotatedAt = now }
            try? await store.write(
                account: name, kind: .accessToken, value: StoredAccessToken.encode(token, session: session))
            add(
                Finding(
                    "refresh", .pass,
                    "The provider issued a new token, valid for \(CheckedNumber.describe(response.expiresIn)) s."))
            claims(token.value)
            freshToken = token.value
        } catch {
            let tried = Attempt(url: metadata.tokenEndpoint, status: error.httpStatus).described
            refreshFailed(
                code: error.code ?? "", codes: error.errorCodes,
                text: "The refresh at \(tried) failed: \(error.description).",
                transient: error.isTransient, tried: tried)
        }
    }

    mutating func oauthThroughDaemon(_ daemon: DaemonClient) async {
        // The longest min_valid (a day) makes the daemon refresh now, and keep the result itself.
        guard let response = try? daemon.request("GET", "/v1/accounts/\(name)/token?min_valid=86400") else {
            add(
                Finding(
                    "refresh", .fail, "The daemon did not answer GET /v1/accounts/\(name)/token on its socket.",
                    remedy: "Check `latchkey serve` / `systemctl --user status latchkey`.", area: .network))
            return
        }
        if let error = response.error {
            let (code, codes) = Self.providerCode(in: error.message)
            if error.code == .signinRequired && code == nil {
                add(Finding("refresh", .fail, error.message, remedy: error.hint, area: .signIn))
            } else {
                refreshFailed(
                    code: code ?? "", codes: codes, text: error.message, transient: error.code == .providerUnavailable,
                    hint: error.hint)
            }
            return
        }
        guard let value = response.json?["access_token"]?.stringValue else {
            add(
                Finding(
                    "refresh", .fail,
                    "The daemon answered GET /v1/accounts/\(name)/token (HTTP \(response.status)) without a token.",
                    area: .network))
            return
        }
        add(Finding("refresh", .pass, "The daemon got a new token from the provider."))
        claims(Secret(value))
        freshToken = Secret(value)
    }

    /// `tried`: the token endpoint and its HTTP status, when diagnose asked it itself.
    mutating func refreshFailed(
        code: String, codes: [Int], text: String, transient: Bool, hint: String? = nil, tried: String? = nil
    ) {
        let explained = codes.isEmpty && code.isEmpty ? text : ProviderErrors.explain(code: code, errorCodes: codes)
        let finding =
            codes.isEmpty && code.isEmpty
            ? text
            : "The provider refused the refresh\(tried.map { " at " + $0 } ?? " (the daemon asked it)"): \(explained)."
        add(
            Finding(
                "refresh", .fail, finding,
                remedy: codes.isEmpty && code.isEmpty
                    ? (hint ?? "") : ProviderErrors.remedy(code: code, errorCodes: codes, account: name),
                area: transient ? .network : .signIn))
    }

    /// `AADSTSnnnnn` and an OAuth error code named in a message.
    static func providerCode(in text: String) -> (String?, [Int]) {
        let codes = ProviderErrors.aadstsCode(in: text).map { [$0] } ?? []
        let code = ProviderErrors.oauth.keys.sorted { $0.count > $1.count }.first { text.includes($0) }
        return (code ?? (codes.isEmpty ? nil : ""), codes)
    }

    /// The token's claims (RFC 9068 / Entra ID), never the token: audience, scopes or roles,
    /// lifetime, tenant, user and whether MFA was used.
    mutating func claims(_ token: Secret<String>) {
        let parts = token.reveal().split(separator: ".")
        guard parts.count == 3, let bytes = Base64.decode(String(parts[1])), let payload = try? JSONValue.parse(bytes),
            payload.isObject
        else {
            add(
                Finding("token claims", .pass, "The access token is opaque (not a JWT); only the provider can read it.")
            )
            return
        }
        func text(_ key: String) -> String? {
            if let s = payload[key]?.stringValue { return s }
            if let list = payload[key]?.arrayValue { return list.compactMap(\.stringValue).joined(separator: " ") }
            if let n = payload[key]?.doubleValue { return CheckedNumber.describe(n.rounded(.towardZero)) }
            return nil
        }
        var words: [String] = []
        if let aud = text("aud") { words.append("aud \(aud)") }
        if let scp = text("scp") ?? text("scope") { words.append("scp \(scp)") }
        if let roles = text("roles") { words.append("roles \(roles)") }
        if let tid = text("tid") { words.append("tid \(tid)") }
        if let upn = text("upn") ?? text("preferred_username") { words.append("upn \(upn)") }
        let amr = (payload["amr"]?.arrayValue ?? []).compactMap(\.stringValue)
        if !amr.isEmpty {
            words.append("amr \(amr.joined(separator: " ")) (\(amr.contains("mfa") ? "MFA was used" : "no MFA"))")
        }
        let now = Double(time(nil))
        var status = Finding.Status.pass
        var remedy = ""
        if let exp = payload["exp"]?.doubleValue {
            let left = Int(clamping: exp - now) ?? 0
            words.append(left > 0 ? "expires in \(left) s" : "expired \(-left) s ago")
            if left <= 0 {
                status = .warn
                remedy = "The daemon refreshes it before use; this one is only the stored copy."
            }
        }
        if let iat = payload["iat"]?.doubleValue { words.append("issued \(Int(clamping: now - iat) ?? 0) s ago") }
        add(Finding("token claims", status, words.joined(separator: "; ") + ".", remedy: remedy))
    }
}
