/// When an account's background refresh is due, aware of use (issue 18): a pure decision in
/// the style of `TokenMachine` — the times go in, the decision comes out, the broker acts.
///
/// - An account a client used within `activeWindow` is refreshed at `TokenMachine.refreshDue`,
///   ahead of expiry, so a sync tool in steady state never waits on the provider.
/// - An account nobody uses is not: its refresh token is used once every `keepaliveInterval`
///   (from the last time it was used, the access token's issue time), well inside the
///   provider's inactivity window, and its first request after a quiet spell costs one refresh.
/// - A transient failure's backoff (`retryAt`) is honoured either way.
///
/// The scheduler sleeps until the earliest `wait` of all accounts, and wakes early when
/// something changes; `wait` times are judged again against the wall clock on waking.
public struct RefreshSchedule: Sendable, Equatable {
    /// Why a background refresh starts now.
    public enum Reason: String, Sendable {
        /// A client used the account recently: refresh ahead of expiry.
        case active
        /// Nobody uses the account: keep the refresh token alive.
        case keepAlive = "keep-alive"
        /// A transient failure's backoff has passed.
        case retry
    }

    public enum Decision: Sendable, Equatable {
        case refreshNow(Reason)
        /// Nothing to do before this time (nil: nothing at all until something changes).
        case wait(until: Timestamp?)
    }

    /// A client's request within this many seconds marks the account active. Default 4 hours.
    public var activeWindow: Double
    /// An idle account's refresh token is used at least this often. Default 7 days.
    public var keepaliveInterval: Double

    public init(activeWindow: Double = 4 * 3600, keepaliveInterval: Double = 7 * 86_400) {
        self.activeWindow = activeWindow
        self.keepaliveInterval = keepaliveInterval
    }

    /// The decision for one account.
    /// - Parameters:
    ///   - refreshDue: `TokenMachine.refreshDue` (nil: nothing to refresh — no token or
    ///     refresh token, a refresh in flight, a sign-in needed).
    ///   - retryAt: the machine's backoff, if a transient failure is pending.
    ///   - issuedAt: when the current access token was issued (the refresh token's last use).
    ///   - lastUsed: a client's last request for the account (nil: none since start).
    ///   - jitter: 0...1, spreads the keep-alives of many accounts (up to 10% earlier).
    public func decide(
        refreshDue: Timestamp?, retryAt: Timestamp?, issuedAt: Timestamp?, lastUsed: Timestamp?,
        now: Timestamp, jitter: Double = 0
    ) -> Decision {
        guard let refreshDue else { return .wait(until: nil) }
        if let retryAt { return retryAt <= now ? .refreshNow(.retry) : .wait(until: retryAt) }
        let spread = jitter.isFinite ? min(max(jitter, 0), 1) : 0
        let keepAlive = issuedAt.map { $0 + keepaliveInterval * (1 - 0.1 * spread) }
        if let keepAlive, keepAlive <= now { return .refreshNow(.keepAlive) }
        if refreshDue > now {
            // Decide at refreshDue, when whether the account is in use is known.
            return .wait(until: keepAlive.map { min($0, refreshDue) } ?? refreshDue)
        }
        if let lastUsed, now - lastUsed <= activeWindow { return .refreshNow(.active) }
        guard let keepAlive else { return .refreshNow(.keepAlive) }
        return .wait(until: keepAlive)
    }

    /// Whether a request at `now` turns an idle account (last used at `lastUsed`) active:
    /// the scheduler then decides again.
    public func becomesActive(lastUsed: Timestamp?, now: Timestamp) -> Bool {
        guard let lastUsed else { return true }
        return now - lastUsed > activeWindow
    }

    /// How long to sleep until `until`, at most `cap` seconds (never negative, never NaN):
    /// the cap bounds how late a wall-clock step or a suspend can make a due time.
    public static func sleep(until: Timestamp?, now: Timestamp, cap: Double) -> Double {
        guard let until else { return cap }
        let seconds = until - now
        guard seconds.isFinite else { return cap }
        return min(max(seconds, 0), cap)
    }
}
