/// The decisions the broker used to make inline around libkrb5's calls, as events of the pure
/// machine: what a look at the ticket cache means for a client's header (`use`,
/// `useAfterRenewal`) and for the scheduler (`scheduledLook`, `renewalEnded`). The broker makes
/// the library calls (`KerberosFlow`) and carries out what comes back; the time is handed in.
extension TicketMachine {
    /// A look at the ticket cache that found a ticket: its time left and renewable time left
    /// (0 when it cannot be renewed), and whose it is.
    public struct Seen: Sendable, Equatable {
        public var principal: String
        public var secondsLeft: Int
        public var renewableSecondsLeft: Int

        public init(principal: String, secondsLeft: Int, renewableSecondsLeft: Int) {
            self.principal = principal
            self.secondsLeft = secondsLeft
            self.renewableSecondsLeft = renewableSecondsLeft
        }
    }

    /// The longest time between two looks at a ticket cache, so a `kinit` outside Latchkey
    /// shows in `status`.
    public static let longestLook: Double = 900
    /// How soon the scheduler looks again after a failed look or renewal.
    public static let retryLook: Double = 60
    /// How long before its end a ticket shorter than the renewal margin is renewed.
    public static let shortTicketMargin: Double = 30

    /// What a client's request for a header does with the ticket it found.
    public enum Use: Sendable, Equatable {
        /// Build the header: the ticket stays valid until then, `minValid` at least.
        case serve(until: Timestamp)
        /// Renew it (or get a new one with the remembered password) first.
        case renew
    }

    /// How a renewal (or a new ticket from the remembered password) ended.
    public enum Renewal: Sendable, Equatable {
        case renewed
        /// The KDC could not be reached: a later try may work, and the ticket as it is still
        /// counts. The library's words.
        case unreachable(String)
        /// Only the person can help: the ticket cannot be renewed (or its renewable life is
        /// over) and no remembered password got a new one.
        case failed
    }

    /// After the renewal, what the request gets.
    public enum UseAfterRenewal: Sendable, Equatable {
        case serve(until: Timestamp)
        /// Too short for `minValid`, and it could not be renewed: only a sign-in helps (the
        /// account says so).
        case tooShort(Seen)
        /// Renewed, and still too short: the KDC gives no ticket that long. The request asked
        /// for too much; the account stays as it is.
        case longerThanTheKDCGives(Seen)
        /// Too short, and the KDC could not be reached to renew it: try again later.
        case unreachable(String)
        /// No ticket: the library's failure says why.
        case noTicket
    }

    /// A request needs a ticket valid for `minValid` seconds; `seen` is the cache's (nil: none).
    public mutating func use(_ seen: Seen?, minValid: Double, now: Timestamp) -> Use {
        guard let seen, Double(seen.secondsLeft) >= minValid else { return .renew }
        return .serve(until: note(seen, now: now))
    }

    /// The cache as seen after the renewal the request waited for (or before it, when the
    /// renewal failed).
    public mutating func useAfterRenewal(_ renewal: Renewal, _ seen: Seen?, minValid: Double, now: Timestamp)
        -> UseAfterRenewal
    {
        guard let seen else { return .noTicket }
        if Double(seen.secondsLeft) >= minValid { return .serve(until: note(seen, now: now)) }
        switch renewal {
        case .renewed:
            note(seen, now: now)
            return .longerThanTheKDCGives(seen)
        case .unreachable(let message):
            failed(message)
            return .unreachable(message)
        case .failed:
            signInRequired()
            return .tooShort(seen)
        }
    }

    /// What the scheduler does after its look at the ticket.
    public enum Check: Sendable, Equatable {
        /// Nothing until then.
        case lookAgain(at: Timestamp)
        /// Renew the ticket now (or get a new one with the remembered password).
        case renew
    }

    /// The scheduler's look: a ticket with more than `renewBelow` seconds left is noted and
    /// looked at again shortly before it needs renewing; an account that was never signed in
    /// and has no ticket waits; anything else is renewed (an expired ticket cannot be, so an
    /// idle account's ticket is renewed in time too: that is its keep-alive).
    public mutating func scheduledLook(_ seen: Seen?, renewBelow: Double, now: Timestamp) -> Check {
        if let seen, Double(seen.secondsLeft) > renewBelow {
            note(seen, now: now)
            return .lookAgain(at: lookAgain(seen, renewBelow: renewBelow, now: now))
        }
        if seen == nil && state == .signedOut {
            scheduleCheck(at: now + Self.retryLook)
            return .lookAgain(at: now + Self.retryLook)
        }
        return .renew
    }

    /// The scheduler's renewal ended; `seen` is the cache looked at afterwards, `before` the
    /// look that asked for the renewal. Returns when to look again, and whether the person must
    /// be told now that a sign-in is needed (once, not at every look). A KDC that cannot be
    /// reached is no such reason while the ticket lasts: the ticket seen before still counts.
    public mutating func renewalEnded(
        _ renewal: Renewal, _ seen: Seen?, before: Seen? = nil, renewBelow: Double, now: Timestamp
    ) -> (next: Timestamp, tellPerson: Bool) {
        var tell = false
        switch renewal {
        case .renewed:
            if let seen {
                note(seen, now: now)
                return (lookAgain(seen, renewBelow: renewBelow, now: now), false)
            }
        case .unreachable(let message):
            if let before { note(before, now: now) }
            failed(message)
            if !(expiresAt.map { $0 > now } ?? false) { tell = signInRequired() }
        case .failed:
            tell = signInRequired()
        }
        scheduleCheck(at: now + Self.retryLook)
        return (now + Self.retryLook, tell)
    }

    @discardableResult
    private mutating func note(_ seen: Seen, now: Timestamp) -> Timestamp {
        ticketSeen(secondsLeft: seen.secondsLeft, renewableSecondsLeft: seen.renewableSecondsLeft, now: now)
    }

    /// Shortly before the renewal is due, at least 10 s and at most `longestLook` ahead. A
    /// ticket that lasts less than `renewBelow` even when new (the KDC gives no longer one) is
    /// looked at again `shortTicketMargin` before it ends, not at once: another renewal could
    /// not make it longer.
    private mutating func lookAgain(_ seen: Seen, renewBelow: Double, now: Timestamp) -> Timestamp {
        let left = Double(seen.secondsLeft)
        let wait = left > renewBelow ? left - renewBelow : left - Self.shortTicketMargin
        let next = now + min(max(wait, 10), Self.longestLook)
        scheduleCheck(at: next)
        return next
    }
}
