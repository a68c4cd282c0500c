/// The life of one account's token, as a pure state machine (async-http-client's habit):
/// events go in with the current time, actions come out, and an actor carries them out.
///
/// Invariants:
/// - at most one refresh is in flight (single flight): later requests join it;
/// - a refresh's result is handed to every waiter as it is, and a token in the first half of
///   its life is served even with less than `min_valid` left, so a provider whose tokens live
///   shorter than `min_valid` causes one refresh per half lifetime, never one per request;
/// - transient failures back off and keep serving a token that has not expired;
///   permanent ones need the person (`signin_required`).
public struct TokenMachine: Sendable {
    public enum State: String, Sendable {
        case signedOut = "signed_out"
        case signingIn = "signing_in"
        case valid
        case refreshing
        case signinRequired = "signin_required"
        case error
        /// An ActiveSync remote wipe erased the account's secrets; a new sign-in is needed.
        case wiped
    }

    /// How a refresh failed (pizauth's split).
    public enum Failure: Sendable, Equatable {
        /// 5xx, 429, network: retry later. `retryAfter` is the provider's hint in seconds.
        case transient(message: String, retryAfter: Double?)
        /// `invalid_grant`, `interaction_required`…: only a new sign-in helps.
        case permanent(message: String)
    }

    /// What to do with a request for a token.
    public enum RequestAction: Sendable, Equatable {
        case serve(AccessToken)
        /// Start a refresh and wait for it; the caller became the refresh's owner.
        case startRefresh
        /// A refresh is in flight: wait for its result.
        case joinRefresh
        case fail(LatchkeyError)
    }

    /// What to do with the requests that waited on a refresh.
    public enum RefreshOutcome: Sendable, Equatable {
        case serveWaiters(AccessToken)
        case failWaiters(LatchkeyError)
    }

    public let account: String
    public private(set) var token: AccessToken?
    public private(set) var hasRefreshToken = false
    /// The token came from a refresh (not a sign-in or the store): as fresh as the provider gives.
    public private(set) var tokenIsFromRefresh = false
    public private(set) var refreshInFlight = false
    public private(set) var signInInFlight = false
    public private(set) var permanentFailure: String?
    public private(set) var lastError: String?
    public private(set) var retryAt: Timestamp?
    public private(set) var consecutiveFailures = 0

    /// Backoff after a transient failure: 2^n seconds from `baseBackoff`, capped.
    public var baseBackoff: Double = 2
    public var maximumBackoff: Double = 300
    /// The longest wait a provider's `Retry-After` can ask for; a longer one is read as this.
    public static let maximumRetryAfter: Double = 3600

    public init(account: String) {
        self.account = account
    }

    public var state: State {
        if signInInFlight { return .signingIn }
        if refreshInFlight { return .refreshing }
        if permanentFailure != nil { return .signinRequired }
        if token == nil && !hasRefreshToken { return .signedOut }
        if retryAt != nil { return .error }
        return .valid
    }

    // MARK: Requests

    /// The token `request` serves while it has `minValid` left: none after a permanent failure.
    public var servableToken: AccessToken? { permanentFailure == nil ? token : nil }

    public mutating func request(minValid: Double, now: Timestamp) -> RequestAction {
        if let token, permanentFailure == nil, mayServe(token, minValid: minValid, now: now) {
            return .serve(token)
        }
        if refreshInFlight { return .joinRefresh }
        if let why = permanentFailure {
            return .fail(.signinRequired(account, why))
        }
        guard hasRefreshToken else {
            if signInInFlight {
                return .fail(
                    .signinRequired(account, "A sign-in for '\(account)' is in progress and not finished yet."))
            }
            if token != nil {
                return .fail(
                    .signinRequired(
                        account, "The token of '\(account)' has expired and the provider gave no refresh token."))
            }
            return .fail(.signinRequired(account, "'\(account)' is not signed in."))
        }
        if let retryAt, now < retryAt {
            if let token, !token.isExpired(at: now) { return .serve(token) }
            return .fail(unavailable(retryAt: retryAt, now: now))
        }
        refreshInFlight = true
        return .startRefresh
    }

    /// SPEC.md §6: a token is handed out while it has `minValid` left. When a refresh has
    /// just shown that the provider's tokens live too short for that, the token it gave (the
    /// freshest the provider gives) is handed out as it is during the first half of its life:
    /// a refresh then could at best double what is left. So short tokens are refreshed at most
    /// once per half of their lifetime, never on every request. A token from a sign-in or the
    /// store may still be refreshed once. An expired token is never handed out.
    public func mayServe(_ token: AccessToken, minValid: Double, now: Timestamp) -> Bool {
        let remaining = token.remaining(at: now)
        guard remaining > 0 else { return false }
        if remaining >= minValid { return true }
        return tokenIsFromRefresh && now - token.issuedAt < 0.5 * token.lifetime
    }

    /// A proactive refresh, started by the scheduler when `refreshDue` has passed: true when
    /// this call started it (no refresh in flight, a refresh token, no backoff pending).
    public mutating func startProactiveRefresh(now: Timestamp) -> Bool {
        guard !refreshInFlight, !signInInFlight, hasRefreshToken, permanentFailure == nil else { return false }
        if let retryAt, now < retryAt { return false }
        refreshInFlight = true
        return true
    }

    // MARK: Refresh results

    /// The refresh succeeded; the new refresh token (if any) is already stored.
    public mutating func refreshSucceeded(_ newToken: AccessToken, now: Timestamp) -> RefreshOutcome {
        refreshInFlight = false
        token = newToken
        tokenIsFromRefresh = true
        hasRefreshToken = true
        permanentFailure = nil
        lastError = nil
        retryAt = nil
        consecutiveFailures = 0
        return .serveWaiters(newToken)
    }

    /// The refresh failed. `jitter` in 0...1 spreads retries (passed in: the machine draws no randomness).
    public mutating func refreshFailed(_ failure: Failure, now: Timestamp, jitter: Double = 0) -> RefreshOutcome {
        refreshInFlight = false
        switch failure {
        case .permanent(let message):
            permanentFailure = message
            lastError = message
            retryAt = nil
            return .failWaiters(.signinRequired(account, message))
        case .transient(let message, let retryAfter):
            consecutiveFailures += 1
            lastError = message
            let exponential = min(maximumBackoff, baseBackoff * Double(1 << min(consecutiveFailures - 1, 16)))
            // The hint comes from outside: a NaN, an infinity or a negative number is no hint.
            let hint = retryAfter.flatMap { $0.isFinite && $0 >= 0 ? min($0, Self.maximumRetryAfter) : nil } ?? 0
            let delay = max(hint, exponential * (1 + 0.25 * jitter))
            let retry = now + delay
            retryAt = retry
            if let token, !token.isExpired(at: now) { return .serveWaiters(token) }
            return .failWaiters(unavailable(retryAt: retry, now: now, message: message))
        }
    }

    private func unavailable(retryAt: Timestamp, now: Timestamp, message: String? = nil) -> LatchkeyError {
        let seconds = Int(clamping: retryAt - now, to: 1...Int(Self.maximumRetryAfter), rounding: .up) ?? 1
        return LatchkeyError(
            .providerUnavailable,
            "The identity provider of '\(account)' cannot be reached: \(message ?? lastError ?? "no answer").",
            hint: "Latchkey retries by itself in \(seconds) s; nothing to do unless this lasts.",
            retryAfter: seconds)
    }

    // MARK: Sign-in and sign-out

    public mutating func signInStarted() {
        signInInFlight = true
    }

    public mutating func signInFinished() {
        signInInFlight = false
    }

    /// A sign-in produced tokens (the refresh token, if any, is already stored). A refresh
    /// still running started from the older grant: its result is stale (the broker refuses it),
    /// so the machine waits for it no longer and the next request may refresh again.
    public mutating func signedIn(_ newToken: AccessToken, hasRefreshToken: Bool) {
        token = newToken
        tokenIsFromRefresh = false
        self.hasRefreshToken = hasRefreshToken
        refreshInFlight = false
        signInInFlight = false
        permanentFailure = nil
        lastError = nil
        retryAt = nil
        consecutiveFailures = 0
    }

    /// Tokens restored from the store at start-up (the same token again keeps its origin).
    public mutating func restored(_ storedToken: AccessToken?, hasRefreshToken: Bool) {
        if storedToken != token { tokenIsFromRefresh = false }
        token = storedToken
        self.hasRefreshToken = hasRefreshToken
    }

    public mutating func signedOut() {
        token = nil
        tokenIsFromRefresh = false
        hasRefreshToken = false
        refreshInFlight = false
        signInInFlight = false
        permanentFailure = nil
        lastError = nil
        retryAt = nil
        consecutiveFailures = 0
    }

    /// The cached access token may no longer be used (a claims challenge, a rejected token).
    public mutating func dropAccessToken() {
        token = nil
        tokenIsFromRefresh = false
    }

    // MARK: Proactive refresh

    /// When to refresh before expiry: when `refreshBefore` seconds or 10% of the lifetime are
    /// left, and in any case while `minValid` can still be honoured, but never earlier than
    /// half-way through the lifetime (short-lived tokens must not cause a refresh loop). Up to
    /// 10% of that lead is added as jitter so many accounts do not refresh in lockstep.
    public func refreshDue(refreshBefore: Double, minValid: Double, jitter: Double = 0) -> Timestamp? {
        guard let token, hasRefreshToken, permanentFailure == nil, !refreshInFlight else { return nil }
        if let retryAt { return retryAt }
        let wanted = max(refreshBefore, 0.1 * token.lifetime, minValid * 1.5)
        let lead = min(wanted * (1 + 0.1 * jitter), 0.5 * token.lifetime)
        return token.expiresAt + -lead
    }
}
