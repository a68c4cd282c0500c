import LatchkeyCore
import LatchkeyGSS
import LatchkeyOAuth
import LatchkeyStore
import Logging

extension Broker {
    /// `Negotiate <token>` for the service the client is about to call: a fresh SPNEGO token
    /// per call (tokens are single-use; replay caches refuse a second use), built only on a
    /// ticket that stays valid for `minValid`.
    func kerberosAuthorization(_ name: String, url: String?, minValid: Double?) async throws(LatchkeyError) -> (
        value: Secret<String>, expiresAt: Timestamp
    ) {
        guard let config = accounts[name]?.config else { throw .unknownAccount(name) }
        let service = try servicePrincipal(name, config, url: url)
        let wanted = minValid ?? config.minValid ?? settings.minValid
        let ticket = try await usableTicket(name, config, minValid: wanted)
        let principal = config.principal
        switch await Kerberos.offPool({ () throws(KerberosError) in
            try Kerberos.negotiateToken(service: service, principal: principal, cache: nil)
        }) {
        case .success(let token):
            return (Secret("Negotiate " + Base64.encode(token.reveal())), ticket)
        case .failure(let error):
            throw kerberosError(name, error, service: service)
        }
    }

    /// The ticket's expiry, after renewing or re-acquiring it when it would not last `minValid`.
    private func usableTicket(_ name: String, _ config: AccountConfig, minValid: Double) async throws(LatchkeyError)
        -> Timestamp
    {
        let principal = config.principal
        var status = await Kerberos.offPool { () throws(KerberosError) in
            try Kerberos.ticketStatus(principal: principal, cache: nil)
        }
        if case .success(let s) = status, Double(s.secondsLeft) >= minValid {
            return noteTicket(name, s)
        }
        // Too short or missing: renew, or sign in again with a remembered password.
        if await refreshTicket(name, reason: "a client needs it", needed: minValid) {
            status = await Kerberos.offPool { () throws(KerberosError) in
                try Kerberos.ticketStatus(principal: principal, cache: nil)
            }
            if case .success(let s) = status, Double(s.secondsLeft) >= minValid { return noteTicket(name, s) }
        }
        switch status {
        case .success(let s):
            accounts[name]?.kerberos.signInRequired()
            throw LatchkeyError(
                .signinRequired,
                "The Kerberos ticket of '\(name)' (\(s.principal)) has \(s.secondsLeft) s left, less than the \(CheckedNumber.describe(minValid)) s a header must stay valid.",
                hint: "Run `latchkey login \(name)` (or kinit) for a new ticket.")
        case .failure(let error):
            throw kerberosError(name, error, service: nil)
        }
    }

    private func noteTicket(
        _ name: String, _ seen: (principal: String, secondsLeft: Int, renewableSecondsLeft: Int)
    ) -> Timestamp {
        let now = clock()
        let expires = accounts[name]?.kerberos.ticketSeen(
            secondsLeft: seen.secondsLeft, renewableSecondsLeft: seen.renewableSecondsLeft, now: now)
        return expires ?? now
    }

    /// Renews a renewable ticket, or signs in again with the remembered password, until the
    /// ticket lasts `needed` seconds. True on success.
    /// Concurrent callers share one renewal: libkrb5 rewrites the cache, and a reader in the
    /// middle of that would see no credentials.
    @discardableResult
    func refreshTicket(_ name: String, reason: String, needed: Double) async -> Bool {
        guard accounts[name] != nil else { return false }
        if renewals.begin(name) {
            guard work.start({ await self.renewTicket(name, reason: reason, needed: needed) }) else {
                renewals.finish(name, false)
                return false
            }
        }
        return await withCheckedContinuation { renewals.join(name, $0) }
    }

    /// The job of `refreshTicket`: renews, then answers every caller that joined.
    private func renewTicket(_ name: String, reason: String, needed: Double) async {
        let renewed = await refreshTicketNow(name, reason: reason, needed: needed)
        renewals.finish(name, renewed)
    }

    private func refreshTicketNow(_ name: String, reason: String, needed: Double) async -> Bool {
        guard let config = accounts[name]?.config else { return false }
        let principal = config.principal
        if case .success = await Kerberos.offPool({ () throws(KerberosError) in
            try Kerberos.renew(principal: principal, cache: nil)
        }),
            case .success(let s) = await Kerberos.offPool({ () throws(KerberosError) in
                try Kerberos.ticketStatus(principal: principal, cache: nil)
            }),
            Double(s.secondsLeft) >= needed
        {
            // A renewal cannot go past the ticket's renewable life: it counts only if it lasts.
            logger.info("Kerberos ticket renewed", metadata: ["account": "\(name)", "reason": "\(reason)"])
            return true
        }
        guard config.rememberPassword, let principal,
            let password = try? await store.read(account: name, kind: .password)
        else { return false }
        let prompter = RememberedPasswordOnly()
        switch await Kerberos.offPool({ () throws(KerberosError) in
            try Kerberos.signIn(principal: principal, password: password, cache: nil, prompter: prompter)
        }) {
        case .success(let signIn):
            accounts[name]?.kerberos.passwordExpiryReported(signIn.passwordExpiresAt)
            await storeSession(name)
            logger.info(
                "Kerberos ticket acquired again with the remembered password",
                metadata: ["account": "\(name)", "reason": "\(reason)"])
            return true
        case .failure(let error):
            accounts[name]?.kerberos.failed(error.message)
            logger.warning(
                "could not acquire a Kerberos ticket unattended",
                metadata: ["account": "\(name)", "error": "\(error.message)"])
            return false
        }
    }

    /// The scheduler's part for Kerberos accounts: keep tickets fresh, or say a sign-in is
    /// needed; returns when the next check is due. A ticket is looked at again shortly before
    /// it needs renewing (an expired ticket cannot be renewed, so an idle account's ticket is
    /// renewed then too: that is its keep-alive), and at least every `ticketRecheck` seconds,
    /// so a `kinit` outside Latchkey shows in `status`.
    func checkTickets() async -> Timestamp? {
        var next: Timestamp?
        for name in order {
            guard let account = accounts[name], account.config.method == .kerberos, account.login == nil else {
                continue
            }
            let now = clock()
            guard account.kerberos.checkDue(now: now) else {
                if let due = account.kerberos.nextCheck { next = min(next ?? due, due) }
                continue
            }
            let minValid = account.config.minValid ?? settings.minValid
            let due = await checkTicket(name, principal: account.config.principal, renewBelow: minValid + 30)
            accounts[name]?.kerberos.scheduleCheck(at: due)
            next = min(next ?? due, due)
        }
        return next
    }

    /// The longest time between two looks at a Kerberos account's ticket cache.
    static let ticketRecheck: Double = 900

    /// Looks at one account's ticket, renews it when fewer than `renewBelow` seconds are left;
    /// returns when to look again.
    private func checkTicket(_ name: String, principal: String?, renewBelow: Double) async -> Timestamp {
        let status = await Kerberos.offPool { () throws(KerberosError) in
            try Kerberos.ticketStatus(principal: principal, cache: nil)
        }
        var secondsLeft: Int?
        switch status {
        case .success(let s) where Double(s.secondsLeft) > renewBelow:
            _ = noteTicket(name, s)
            secondsLeft = s.secondsLeft
        case .success, .failure:
            if case .failure = status, accounts[name]?.kerberos.state == .signedOut { return clock() + 60 }
            if await refreshTicket(name, reason: "the ticket is about to expire", needed: renewBelow) {
                if case .success(let s) = await Kerberos.offPool({ () throws(KerberosError) in
                    try Kerberos.ticketStatus(principal: principal, cache: nil)
                }) {
                    _ = noteTicket(name, s)
                    secondsLeft = s.secondsLeft
                }
            } else if accounts[name]?.kerberos.signInRequired() == true {
                logger.warning(
                    "Kerberos sign-in needed: the ticket expires and cannot be renewed",
                    metadata: ["account": "\(name)"])
                signInNeeded(name, because: "The Kerberos ticket of '\(name)' expires and cannot be renewed.")
            }
        }
        // Shortly before the renewal is due; a failed renewal is tried again in a minute.
        let wait = secondsLeft.map { Double($0) - renewBelow } ?? 60
        return clock() + min(max(wait, 10), Self.ticketRecheck)
    }

    func servicePrincipal(_ name: String, _ config: AccountConfig, url: String?) throws(LatchkeyError) -> String {
        try KerberosFlow(name: name, config: config).servicePrincipal(url: url)
    }

    /// A Kerberos failure as the person sees it (`KerberosFlow.failure`), noted in the
    /// account's ticket machine.
    func kerberosError(_ name: String, _ error: KerberosError, service: String?) -> LatchkeyError {
        let config = accounts[name]?.config ?? AccountConfig(name: name)
        let failure = KerberosFlow(name: name, config: config).failure(error, service: service)
        accounts[name]?.kerberos.failed(error.message)
        if failure.signInRequired { accounts[name]?.kerberos.signInRequired() }
        return failure.error
    }
}
