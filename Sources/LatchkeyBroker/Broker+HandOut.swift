import LatchkeyCore
import LatchkeyHTTP
import LatchkeyOAuth
import LatchkeyStore
import Logging

/// What the broker hands out: account summaries, tokens and Authorization headers.
extension Broker {
    // MARK: Queries

    /// The store in use, as `status` names it.
    public nonisolated var storeName: String { store.name }

    public func summaries() -> [AccountSummary] {
        order.compactMap { summary(of: $0) }
    }

    public func summary(account name: String) throws(LatchkeyError) -> AccountSummary {
        guard let summary = summary(of: name) else { throw .unknownAccount(name) }
        return summary
    }

    func summary(of name: String) -> AccountSummary? {
        guard let account = accounts[name] else { return nil }
        if account.config.method == .kerberos || account.config.method == .basic {
            let basic = account.config.method == .basic
            var summary = AccountSummary(
                name: name, method: account.config.method,
                state: account.login != nil ? .signingIn : basic ? account.basic.state : account.kerberos.state,
                expiresAt: basic ? account.basic.expiresAt : account.kerberos.expiresAt,
                lastError: basic ? nil : account.kerberos.lastError,
                lastRefresh: basic ? account.basic.lastSignIn : account.lastRefresh,
                scopes: [], store: store.name, persisted: account.pendingWrites.isEmpty && store.isPersistent,
                email: account.config.email, url: account.config.url, gitHosts: account.config.gitHosts)
            summary.signin = signinForecast(name)
            return summary
        }
        var summary = withActiveSync(
            AccountSummary(
                name: name, method: account.config.method, state: account.oauth.machine.state,
                expiresAt: account.oauth.machine.token?.expiresAt,
                lastError: account.oauth.machine.lastError ?? account.storeError?.message,
                lastRefresh: account.oauth.lastRefresh,
                scopes: account.oauth.machine.token?.scopes ?? account.config.scopes,
                store: store.name,
                persisted: account.pendingWrites.isEmpty && !account.needsRestore && store.isPersistent,
                email: account.config.email, url: account.config.url, gitHosts: account.config.gitHosts))
        summary.session = account.session
        summary.signin = signinForecast(name)
        return summary
    }

    // MARK: Tokens

    /// A token valid for at least `minValid` seconds (the account's or broker's default when
    /// nil), refreshing first when needed. Concurrent callers share one refresh. With a
    /// `client`, the account's `allowed_clients` are enforced and the hand-out is audited.
    public func token(
        account name: String, scopes: [String] = [], minValid: Double? = nil, client: ClientIdentity? = nil
    ) async throws(LatchkeyError) -> AccessToken {
        guard let original = accounts[name]?.config else { throw .unknownAccount(name) }
        try authorize(name, original, client)
        try await resolveAutoMethod(name)
        return try await handOutToken(account: name, scopes: scopes, minValid: minValid, client: client)
    }

    /// The token for a client already checked against `allowed_clients`, and its audit line.
    func handOutToken(account name: String, scopes: [String], minValid: Double?, client: ClientIdentity?)
        async throws(LatchkeyError) -> AccessToken
    {
        guard let config = accounts[name]?.config else { throw .unknownAccount(name) }
        noteUse(name)
        let token = try await currentToken(
            name, scopeKey: OAuthAccountState.scopeKey(scopes, configured: config.scopes), scopes: scopes,
            minValid: minValid)
        metrics.handedOut += 1
        if let client {
            AuditLine.handedOut(
                logger, account: name, client: client, scheme: "Bearer", scopes: token.scopes.joined(separator: " "))
        }
        return token
    }

    /// The `Authorization` header value for a client.
    public func authorization(account name: String, url: String?, minValid: Double?, client: ClientIdentity? = nil)
        async throws(LatchkeyError) -> (value: Secret<String>, expiresAt: Timestamp)
    {
        guard let original = accounts[name]?.config else { throw .unknownAccount(name) }
        try authorize(name, original, client)
        try await resolveAutoMethod(name)
        guard let config = accounts[name]?.config else { throw .unknownAccount(name) }
        if config.method == .kerberos || config.method == .basic {
            let header: (value: Secret<String>, expiresAt: Timestamp)
            if config.method == .basic {
                header = try await basicAuthorization(name, url: url)
            } else {
                do {
                    header = try await kerberosAuthorization(name, url: url, minValid: minValid)
                } catch  where config.fallback.contains(.basic) && error.code != .badRequest {
                    // fallback = ["basic"]: Kerberos cannot work; Basic with the kept password.
                    header = try await basicAuthorization(name, url: url, because: error)
                }
            }
            metrics.handedOut += 1
            noteUse(name)
            if let client {
                AuditLine.handedOut(logger, account: name, client: client, scheme: AuditLine.scheme(of: header.value))
            }
            return header
        }
        let token = try await handOutToken(account: name, scopes: [], minValid: minValid, client: client)
        return (Secret("Bearer " + token.value.reveal()), token.expiresAt)
    }
}
