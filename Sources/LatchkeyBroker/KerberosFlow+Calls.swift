import LatchkeyCore
import LatchkeyGSS

/// The Kerberos flow's library calls, each off Swift's thread pool (`Kerberos.offPool`): they
/// touch no account. The broker hands what they return to the account's `TicketMachine`.
extension KerberosFlow {
    /// Looks at the account's ticket cache.
    func look() async -> Result<TicketMachine.Seen, KerberosError> {
        let principal = config.principal
        return await Kerberos.offPool { () throws(KerberosError) in
            let status = try Kerberos.ticketStatus(principal: principal, cache: nil)
            return TicketMachine.Seen(
                principal: status.principal, secondsLeft: status.secondsLeft,
                renewableSecondsLeft: status.renewableSecondsLeft)
        }
    }

    /// Renews the ticket; fails unless the renewed ticket lasts `needed` seconds (a renewal
    /// cannot go past the ticket's renewable life, so one that does not last does not count).
    func renew(lasting needed: Double) async -> Result<Void, KerberosError> {
        let principal = config.principal
        if case .failure(let error) = await Kerberos.offPool({ () throws(KerberosError) in
            try Kerberos.renew(principal: principal, cache: nil)
        }) {
            return .failure(error)
        }
        switch await look() {
        case .failure(let error): return .failure(error)
        case .success(let seen) where Double(seen.secondsLeft) < needed:
            return .failure(
                KerberosError(
                    kind: .expired,
                    message:
                        "the renewed ticket lasts \(seen.secondsLeft) s, less than the \(CheckedNumber.describe(needed)) s needed (its renewable life is ending)"
                ))
        case .success: return .success(())
        }
    }

    /// A failed renewal or re-acquisition as the ticket machine sees it: a KDC that cannot be
    /// reached may answer later; anything else needs the person.
    static func renewal(_ error: KerberosError) -> TicketMachine.Renewal {
        error.kind == .kdcUnreachable ? .unreachable(error.message) : .failed
    }

    /// A new ticket from the remembered password, with no person: any other question (an
    /// expired password, an OTP) cancels it.
    func acquire(principal: String, password: Secret<String>) async -> Result<KerberosSignIn, KerberosError> {
        let prompter = RememberedPasswordOnly()
        return await Kerberos.offPool { () throws(KerberosError) in
            try Kerberos.signIn(principal: principal, password: password, cache: nil, prompter: prompter)
        }
    }

    /// `Negotiate <token>` for `service`: a fresh SPNEGO token per call (tokens are single-use).
    func header(service: String) async -> Result<Secret<String>, KerberosError> {
        let principal = config.principal
        return await Kerberos.offPool { () throws(KerberosError) in
            let token = try Kerberos.negotiateToken(service: service, principal: principal, cache: nil)
            return Secret("Negotiate " + Base64.encode(token.reveal()))
        }
    }

    /// What an interactive sign-in brought: the KDC's report and the new ticket's life.
    struct SignedIn: Sendable {
        var report: KerberosSignIn
        var expiresAt: Timestamp
        /// The end of its renewable life (its expiry when it cannot be renewed); nil: unread.
        var renewTill: Timestamp?
    }

    /// The interactive sign-in: a TGT from what the person answers through `prompter`, then a
    /// look at the new ticket, measured from `now()`.
    func signIn(principal: String, prompter: RelayPrompter, now: @Sendable () -> Timestamp) async -> Result<
        SignedIn, KerberosError
    > {
        let signIn = await Kerberos.offPool { () throws(KerberosError) in
            try Kerberos.signIn(principal: principal, password: nil, cache: nil, prompter: prompter)
        }
        switch signIn {
        case .failure(let error):
            return .failure(error)
        case .success(let report):
            let seen = await look()
            let time = now()
            guard case .success(let s) = seen else { return .success(SignedIn(report: report, expiresAt: time)) }
            let expires = time + Double(s.secondsLeft)
            let renewTill = s.renewableSecondsLeft > 0 ? time + Double(s.renewableSecondsLeft) : expires
            return .success(SignedIn(report: report, expiresAt: expires, renewTill: renewTill))
        }
    }

    /// The error of a request that asks for a ticket lasting longer than any the KDC gives.
    func longerThanTheKDCGives(_ seen: TicketMachine.Seen, minValid: Double) -> LatchkeyError {
        LatchkeyError(
            .configuration,
            "The KDC gives '\(name)' (\(seen.principal)) tickets that last \(seen.secondsLeft) s, less than the \(CheckedNumber.describe(minValid)) s a header must stay valid.",
            hint:
                "Ask for less (--min-valid, or min_valid of [accounts.\(name)]), or ask the KDC's administrator for longer tickets."
        )
    }

    /// The error of a request whose ticket lasts less than the `minValid` it asked for.
    func tooShort(_ seen: TicketMachine.Seen, minValid: Double) -> LatchkeyError {
        LatchkeyError(
            .signinRequired,
            "The Kerberos ticket of '\(name)' (\(seen.principal)) has \(seen.secondsLeft) s left, less than the \(CheckedNumber.describe(minValid)) s a header must stay valid.",
            hint: "Run `latchkey login \(name)` (or kinit) for a new ticket.")
    }
}
