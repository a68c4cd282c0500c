import LatchkeyCore
import LatchkeyOAuth
import LatchkeyStore

/// A refresh as events on the account's OAuth state. The broker starts it (`beginRefresh`),
/// runs the grant through `OAuthFlow`, and hands the result in: `answered` when the provider
/// gave tokens, `stored` once what `answered` asked to store is stored, `failed` otherwise.
/// Each event carries the account's current generation: a sign-out, a new sign-in or a reload
/// since the refresh started makes it stale, and a stale event changes nothing. What a stale
/// refresh already stored is taken back, unless a sign-in has begun to commit since: the store
/// then holds that sign-in's secrets.
///
/// Refresh tokens rotate: `answered` asks to store the new one, and the new access token only
/// becomes the machine's (and so servable) at `stored`, after the broker wrote it.
extension OAuthAccountState {
    /// One refresh of a scope set (`key`; nil: the account's own), as it started.
    struct Refresh: Sendable {
        var key: String?
        var refreshToken: Secret<String>
        var scopes: [String]
        /// The claims the grant carries (met once it succeeds, unless a newer challenge asked for others).
        var claims: String?
        /// The account's generation when it started.
        var generation: Int

        /// The access token a provider's answer gives, issued at `now`.
        func token(_ response: TokenResponse, now: Timestamp) -> AccessToken {
            response.accessToken(issuedAt: now, requestedScopes: scopes)
        }
    }

    enum RefreshEvent: Sendable {
        /// The provider answered the grant with tokens.
        case answered(TokenResponse, now: Timestamp)
        /// What `answered` asked for is written (or kept for a retry after a failed write).
        case stored(TokenResponse, now: Timestamp)
        /// The grant failed; `jitter` (0...1) spreads the backoff.
        case failed(OAuthError, now: Timestamp, jitter: Double)
    }

    enum RefreshAction: Sendable, Equatable {
        /// Store a secret (the rotated refresh token) before going on.
        case persist(ItemKind, Secret<String>)
        /// Store the account's own access token (with the session's life) before going on.
        case persistAccessToken(AccessToken)
        /// The refresh token was used (and rotated) at `now`: the session's life learns it. Comes
        /// after the rotated refresh token's write and before the access token's.
        case noteRefresh(rotated: Bool, now: Timestamp)
        /// The refresh failed with this message: the session's life may learn from it.
        case noteFailure(String)
        /// What `diagnose` remembers of the account's own refreshes (nil: it worked).
        case remember(OAuthError?)
        /// Only a new sign-in helps: tell the person.
        case signInNeeded(String)
        /// A sign-out or a reload overtook the writes: remove what this refresh stored.
        case takeBack
        /// Hand the outcome to the requests waiting on this refresh; the refresh is over.
        case finish(TokenMachine.RefreshOutcome)
        /// The refresh went stale and changed nothing: hand its waiters this; it is over.
        case abandon(TokenMachine.RefreshOutcome)
    }

    /// What a refresh of `key`'s scope set starts from. Without a refresh token there is none
    /// to run: the scope set's machine fails it, and `.failure` holds what its waiters get.
    mutating func beginRefresh(_ key: String?, configuredScopes: [String], generation: Int, now: Timestamp)
        -> Result<Refresh, RefreshFailure>
    {
        guard let refreshToken else {
            let failure = TokenMachine.Failure.permanent(message: "There is no refresh token for '\(account)'.")
            return .failure(RefreshFailure(outcome: withMachine(key) { $0.refreshFailed(failure, now: now) }))
        }
        let scopes = key.flatMap { scoped[$0]?.scopes } ?? configuredScopes
        return .success(
            Refresh(key: key, refreshToken: refreshToken, scopes: scopes, claims: pendingClaims, generation: generation)
        )
    }

    /// A refresh that cannot run; `outcome` nil: the scope set has no slot any more.
    struct RefreshFailure: Error {
        var outcome: TokenMachine.RefreshOutcome?
    }

    /// Applies one event of `refresh`. `generation` is the account's now; `signInSince`: it is
    /// the generation of a sign-in that began to commit after the refresh started.
    mutating func refresh(_ event: RefreshEvent, of refresh: Refresh, generation: Int, signInSince: Bool = false)
        -> [RefreshAction]
    {
        guard refresh.generation == generation else {
            if case .stored = event, !signInSince { return [.takeBack, .abandon(abandoned)] }
            return [.abandon(abandoned)]
        }
        switch event {
        case .answered(let response, let now):
            if let claims = refresh.claims, pendingClaims == claims { pendingClaims = nil }
            var actions: [RefreshAction] = []
            if let rotated = response.refreshToken {
                refreshToken = rotated
                actions.append(.persist(.refreshToken, rotated))
            }
            actions.append(.noteRefresh(rotated: response.refreshToken != nil, now: now))
            // The account's own token is stored; tokens of other scope sets live in memory.
            if refresh.key == nil { actions.append(.persistAccessToken(refresh.token(response, now: now))) }
            return actions
        case .stored(let response, let now):
            lastRefresh = now
            let token = refresh.token(response, now: now)
            guard let outcome = withMachine(refresh.key, { $0.refreshSucceeded(token, now: now) }) else {
                return [.finish(.failWaiters(.unknownAccount(account)))]
            }
            return (refresh.key == nil ? [.remember(nil)] : []) + [.finish(Self.scoped(outcome, refresh.key))]
        case .failed(let error, let now, let jitter):
            // A scope set's failure is about that scope set only: the account stays as it is.
            let failure = Self.failure(error, account: account, scopeKey: refresh.key)
            var actions: [RefreshAction] = refresh.key == nil ? [.remember(error)] : []
            actions.append(.noteFailure(error.description))
            guard let outcome = withMachine(refresh.key, { $0.refreshFailed(failure, now: now, jitter: jitter) })
            else {
                return actions + [.finish(.failWaiters(.unknownAccount(account)))]
            }
            if case .permanent = failure, refresh.key == nil { actions.append(.signInNeeded(error.description)) }
            return actions + [.finish(Self.scoped(outcome, refresh.key))]
        }
    }

    /// What the waiters of a refresh that a sign-out, a new sign-in or a reload overtook get.
    var abandoned: TokenMachine.RefreshOutcome {
        .failWaiters(.signinRequired(account, "'\(account)' was signed out while its token was being refreshed."))
    }

    /// What a failed refresh means for the scope set's machine: try again later, or only a
    /// sign-in helps. A scope set's failure is about that scope set only (`scopeKey`).
    static func failure(_ error: OAuthError, account name: String, scopeKey key: String?) -> TokenMachine.Failure {
        if error.isTransient { return .transient(message: error.description, retryAfter: error.retryAfter) }
        return .permanent(
            message: key.map {
                "The provider gives no token for '\(name)' with the scopes \($0): \(error.description). The account itself is unchanged."
            }
                ?? "Signing in to '\(name)' again is needed: \(error.description).")
    }
}
