import LatchkeyCore
import LatchkeyOAuth

/// What an OAuth account is between calls: the `TokenMachine` of its own scopes, the slots of
/// other scope sets (`--scope`), the refresh token they share, the claims a service asked for,
/// the provider's endpoints and the time of the last refresh. Owned by the OAuth side: the
/// broker keeps it as `Account.oauth` and changes it only through these events.
///
/// A pure value in `TokenMachine`'s style: events go in with `now` (and the account's
/// generation) handed in, and what must happen outside — a store write, waking the requests
/// that wait, telling the person — comes out as actions the broker carries out
/// (`OAuthAccountState+Refresh.swift`). Nothing here reads a clock, logs or awaits.
struct OAuthAccountState: Sendable {
    /// The account's name, for the words of errors.
    let account: String
    /// The account's own scope set.
    var machine: TokenMachine
    /// Tokens for scope sets other than the account's own, each with its own life and single
    /// flight; they share the account's refresh token. Kept in memory only.
    var scoped: [String: ScopedSlot] = [:]
    var refreshToken: Secret<String>?
    /// Claims a service asked for (`insufficient_claims`): sent with every refresh and
    /// sign-in until one succeeds.
    var pendingClaims: String?
    /// The provider's endpoints as last resolved (`Broker.metadata(for:)`); nil: resolve again.
    var metadata: ProviderMetadata?
    var lastRefresh: Timestamp?

    struct ScopedSlot: Sendable {
        var scopes: [String]
        var machine: TokenMachine
    }

    init(account: String) {
        self.account = account
        self.machine = TokenMachine(account: account)
    }

    /// nil for the account's own scope set; otherwise the set, sorted, as one string.
    static func scopeKey(_ scopes: [String], configured: [String]) -> String? {
        guard !scopes.isEmpty, Set(scopes) != Set(configured) else { return nil }
        return Set(scopes).sorted().joined(separator: " ")
    }

    /// Runs `body` on the token machine of a scope set (nil: the account's own); nil when the
    /// scope set has no slot.
    mutating func withMachine<R>(_ key: String?, _ body: (inout TokenMachine) -> R) -> R? {
        guard let key else { return body(&machine) }
        guard scoped[key] != nil else { return nil }
        return body(&scoped[key]!.machine)
    }

    /// A request for the token of `key`'s scope set (nil: the account's own). Another scope
    /// set gets its slot on first use, sharing the account's refresh token; its failure is
    /// worded for that scope set (`scoped`).
    mutating func request(_ key: String?, scopes: [String], minValid: Double, now: Timestamp)
        -> TokenMachine.RequestAction
    {
        guard let key else { return machine.request(minValid: minValid, now: now) }
        var slot = scoped[key] ?? ScopedSlot(scopes: scopes, machine: TokenMachine(account: account))
        slot.machine.restored(slot.machine.token, hasRefreshToken: refreshToken != nil)
        let action = slot.machine.request(minValid: minValid, now: now)
        scoped[key] = slot
        if case .fail(let error) = action { return .fail(Self.scoped(error, key)) }
        return action
    }

    /// A scope set's permanent failure does not need a new sign-in of the account: its hint
    /// says what does help (the machine's own hint is the account's).
    static func scoped(_ error: LatchkeyError, _ key: String?) -> LatchkeyError {
        guard let key, error.code == .signinRequired else { return error }
        var scoped = error
        scoped.hint =
            "Ask only for scopes the account may have, or add \(key) to the account's scopes and sign in again."
        return scoped
    }

    static func scoped(_ outcome: TokenMachine.RefreshOutcome, _ key: String?) -> TokenMachine.RefreshOutcome {
        guard case .failWaiters(let error) = outcome else { return outcome }
        return .failWaiters(scoped(error, key))
    }

    // MARK: Sign-in, sign-out, restart, challenge

    /// What the store kept, read at start-up (or when a client first asks).
    mutating func restored(_ access: AccessToken?, refreshToken: Secret<String>?) {
        self.refreshToken = refreshToken
        machine.restored(access, hasRefreshToken: refreshToken != nil)
    }

    /// A committed sign-in: its tokens become the account's, the claims it carried are met.
    /// A sign-in without a refresh token leaves a kept one in place; the machine knows. A
    /// refresh still running is stale from now on: no machine waits for it (a scope set whose
    /// refresh runs starts again with a new slot).
    mutating func signedIn(_ token: AccessToken, refreshToken: Secret<String>?, now: Timestamp) {
        pendingClaims = nil
        if let refreshToken { self.refreshToken = refreshToken }
        machine.signedIn(token, hasRefreshToken: refreshToken != nil)
        scoped = scoped.filter { !$0.value.machine.refreshInFlight }
        lastRefresh = now
    }

    /// The refreshes running were made stale by a sign-in that then did not commit (a newer one
    /// replaced it): their machines stop waiting for them, as after a transient failure.
    mutating func staleRefreshesDropped(message: String, now: Timestamp) {
        let failure = TokenMachine.Failure.transient(message: message, retryAfter: 1)
        if machine.refreshInFlight { _ = machine.refreshFailed(failure, now: now) }
        scoped = scoped.filter { !$0.value.machine.refreshInFlight }
    }

    /// A sign-out: no token of any scope set, no refresh token. The provider's endpoints stay.
    mutating func signedOut() {
        refreshToken = nil
        machine.signedOut()
        scoped = [:]
    }

    /// A service refused the tokens (`insufficient_claims`, `invalid_token`): none of them is
    /// handed out again, and `claims` (when given) go with the next refresh or sign-in.
    mutating func challenged(claims: String?) {
        machine.dropAccessToken()
        for key in scoped.keys { scoped[key]?.machine.dropAccessToken() }
        if let claims { pendingClaims = claims }
    }

    /// Whether the next token can come from a refresh rather than a sign-in.
    var canRefresh: Bool {
        refreshToken != nil && machine.state != .signinRequired
    }
}
