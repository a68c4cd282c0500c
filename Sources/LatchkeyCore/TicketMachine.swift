/// The life of a Kerberos account's ticket as the broker sees it (a Basic account's kept
/// password has its own `BasicAccountState`), as a pure state machine in `TokenMachine`'s style: events go in with the
/// current time, decisions come out, and the broker carries them out. libkrb5 owns the ticket
/// itself (the credential cache); this machine owns only what the broker knows and shows.
///
/// Invariants:
/// - a sign-in or a ticket seen with time left makes the account `valid`, a sign-out
///   `signed_out`, a failure that needs the person `signin_required`;
/// - the scheduler looks at a ticket when its check is due (the broker schedules it shortly
///   before a renewal is due, and at once after a sign-in);
/// - the person is told once that a sign-in is needed, not at every check.
public struct TicketMachine: Sendable {
    public private(set) var state: TokenMachine.State = .signedOut
    public private(set) var expiresAt: Timestamp?
    public private(set) var lastError: String?
    /// When the scheduler looks at the ticket next; nil: at once.
    public private(set) var nextCheck: Timestamp?
    /// The person signed out: the scheduler leaves the ticket cache alone (a ticket still in
    /// it does not make the account valid again) until a sign-in or a request uses a ticket.
    public private(set) var signedOutByPerson = false
    /// The end of the ticket's renewable life (renew-till) as last seen; for a ticket that cannot
    /// be renewed, its end time. nil: not seen.
    public private(set) var renewTill: Timestamp?
    /// The principal's password expiry the KDC reported at the last sign-in; nil: none or unknown.
    public private(set) var passwordExpiresAt: Timestamp?

    public init() {}

    /// A ticket with `secondsLeft` (and `renewableSecondsLeft` of renewable life, 0 when it cannot
    /// be renewed; nil: not read) was seen (a header built, a check, a renewal): the account is
    /// valid until the expiry this returns.
    public mutating func ticketSeen(secondsLeft: Int, renewableSecondsLeft: Int? = nil, now: Timestamp) -> Timestamp {
        let expires = now + Double(secondsLeft)
        signedOutByPerson = false
        state = .valid
        expiresAt = expires
        lastError = nil
        if let renewableSecondsLeft {
            renewTill = renewableSecondsLeft > 0 ? now + Double(renewableSecondsLeft) : expires
        }
        return expires
    }

    /// A sign-in brought a ticket (or a checked password) that lasts until `expiresAt`, renewable
    /// until `renewTill`; the KDC reported `passwordExpiresAt` (nil: no expiry).
    public mutating func signedIn(
        expiresAt: Timestamp, renewTill: Timestamp? = nil, passwordExpiresAt: Timestamp? = nil
    ) {
        signedOutByPerson = false
        state = .valid
        self.expiresAt = expiresAt
        self.renewTill = renewTill
        self.passwordExpiresAt = passwordExpiresAt
        lastError = nil
    }

    /// A sign-in with the remembered password (no person) learnt the password's expiry anew.
    public mutating func passwordExpiryReported(_ expiresAt: Timestamp?) {
        passwordExpiresAt = expiresAt
    }

    /// When a Kerberos account will need the person to sign in again, and why; nil: unknown.
    /// - Parameter remembersPassword: the daemon gets a new ticket with the remembered
    ///   password when the renewable life ends, so that is no deadline for the person; a
    ///   password expiry still is.
    public func forecast(remembersPassword: Bool) -> SessionLife.Forecast? {
        guard state == .valid else { return nil }
        var best: SessionLife.Forecast?
        if !remembersPassword, let renewTill {
            let renewable = expiresAt.map { renewTill > $0 } ?? false
            best = SessionLife.Forecast(
                by: renewTill,
                reason: renewable
                    ? "the ticket can be renewed until then (its renew-till), not after"
                    : "the ticket ends then and cannot be renewed")
        }
        if let passwordExpiresAt, best.map({ passwordExpiresAt < $0.by }) ?? true {
            best = SessionLife.Forecast(
                by: passwordExpiresAt, reason: "the password expires then (the KDC's password expiry)")
        }
        return best
    }

    /// The account was signed out: nothing is known any more.
    public mutating func signedOut() {
        self = TicketMachine()
        signedOutByPerson = true
    }

    /// Only the person can help (no ticket, an expired or too short one, a refused
    /// password). True when this is news: the caller tells the person once.
    @discardableResult
    public mutating func signInRequired(_ why: String? = nil) -> Bool {
        if let why { lastError = why }
        defer { state = .signinRequired }
        return state != .signinRequired
    }

    /// A failure that a later try can get past (KDC unreachable, a fallback in use): noted
    /// for `status`, the state stays.
    public mutating func failed(_ message: String) {
        lastError = message
    }

    /// Whether the scheduler should look at the ticket at `now`.
    public func checkDue(now: Timestamp) -> Bool {
        !signedOutByPerson && (nextCheck.map { now >= $0 } ?? true)
    }

    /// The scheduler looks at the ticket next at `time`; nil: at once (a sign-in brought a new
    /// ticket).
    public mutating func scheduleCheck(at time: Timestamp?) {
        nextCheck = time
    }
}
