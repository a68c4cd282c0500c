import LatchkeyCore
import LatchkeyGSS
import LatchkeyOAuth
import LatchkeyStore
import Logging

/// Kerberos accounts, routed: the library calls are the flow's (`KerberosFlow`, off the pool),
/// the decisions are the account's `TicketMachine`'s (events in with the time, decisions out);
/// the broker joins the two, keeps the single flight of renewals (`renewals`), logs and tells
/// the person.
extension Broker {
    func kerberosFlow(_ name: String, _ config: AccountConfig) -> KerberosFlow {
        KerberosFlow(name: name, config: config)
    }

    /// `Negotiate <token>` for the service the client is about to call: a fresh SPNEGO token
    /// per call (tokens are single-use; replay caches refuse a second use), built only on a
    /// ticket that stays valid for `minValid`.
    func kerberosAuthorization(_ name: String, url: String?, minValid: Double?) async throws(LatchkeyError) -> (
        value: Secret<String>, expiresAt: Timestamp
    ) {
        guard let config = accounts[name]?.config else { throw .unknownAccount(name) }
        let flow = kerberosFlow(name, config)
        let service = try flow.servicePrincipal(url: url)
        let wanted = minValid ?? config.minValid ?? settings.minValid
        let ticket = try await usableTicket(name, flow, minValid: wanted)
        switch await flow.header(service: service) {
        case .success(let header): return (header, ticket)
        case .failure(let error): throw kerberosError(name, error, service: service)
        }
    }

    /// The ticket's expiry, after renewing or re-acquiring it when it would not last `minValid`.
    private func usableTicket(_ name: String, _ flow: KerberosFlow, minValid: Double) async throws(LatchkeyError)
        -> Timestamp
    {
        var looked = await flow.look()
        if case .serve(let until) = accounts[name]?.kerberos.use(looked.seen, minValid: minValid, now: clock()) {
            return until
        }
        // Too short or missing: renew, or sign in again with a remembered password.
        let generation = accounts[name]?.generation
        let renewal = await refreshTicket(name, reason: "a client needs it", needed: minValid)
        if renewal == .renewed { looked = await flow.look() }
        // A sign-out or a sign-in during the renewal: its outcome is not this account's any more.
        guard accounts[name]?.generation == generation else { throw overtakenRenewal(name) }
        switch accounts[name]?.kerberos.useAfterRenewal(renewal, looked.seen, minValid: minValid, now: clock()) {
        case .serve(let until): return until
        case .tooShort(let seen): throw flow.tooShort(seen, minValid: minValid)
        case .longerThanTheKDCGives(let seen): throw flow.longerThanTheKDCGives(seen, minValid: minValid)
        case .unreachable(let message):
            throw flow.failure(KerberosError(kind: .kdcUnreachable, message: message), service: nil).error
        case .noTicket, nil:
            if case .failure(let error) = looked { throw kerberosError(name, error, service: nil) }
            throw .unknownAccount(name)
        }
    }

    /// The answer of a request whose renewal a sign-out (sign in) or a sign-in (try again) overtook.
    private func overtakenRenewal(_ name: String) -> LatchkeyError {
        if accounts[name]?.kerberos.signedOutByPerson ?? true {
            return .signinRequired(name, "'\(name)' was signed out while its ticket was being renewed.")
        }
        return LatchkeyError(
            .providerUnavailable, "'\(name)' was signed in again while its ticket was being renewed.",
            hint: "Try again.", retryAfter: 1)
    }

    /// Renews a renewable ticket, or signs in again with the remembered password, until the
    /// ticket lasts `needed` seconds.
    /// Concurrent callers share one renewal: libkrb5 rewrites the cache, and a reader in the
    /// middle of that would see no credentials.
    @discardableResult
    func refreshTicket(_ name: String, reason: String, needed: Double) async -> TicketMachine.Renewal {
        guard accounts[name] != nil else { return .failed }
        if renewals.begin(name) {
            guard work.start({ await self.renewTicket(name, reason: reason, needed: needed) }) else {
                renewals.finish(name, .unreachable(Self.stopping.message))
                return .unreachable(Self.stopping.message)
            }
        }
        return await withCheckedContinuation { renewals.join(name, $0) }
    }

    /// The job of `refreshTicket`: renews, then answers every caller that joined.
    private func renewTicket(_ name: String, reason: String, needed: Double) async {
        let renewal = await refreshTicketNow(name, reason: reason, needed: needed)
        renewals.finish(name, renewal)
    }

    private func refreshTicketNow(_ name: String, reason: String, needed: Double) async -> TicketMachine.Renewal {
        await PausePoint.hit("kerberos.renewal")
        guard let config = accounts[name]?.config else { return .failed }
        let flow = kerberosFlow(name, config)
        var failure: KerberosError
        switch await flow.renew(lasting: needed) {
        case .success:
            logger.info("Kerberos ticket renewed", metadata: ["account": "\(name)", "reason": "\(reason)"])
            return .renewed
        case .failure(let error):
            failure = error
        }
        if config.rememberPassword, let principal = config.principal,
            let password = try? await store.read(account: name, kind: .password)
        {
            switch await flow.acquire(principal: principal, password: password) {
            case .success(let signIn):
                accounts[name]?.kerberos.passwordExpiryReported(signIn.passwordExpiresAt)
                await storeSession(name)
                logger.info(
                    "Kerberos ticket acquired again with the remembered password",
                    metadata: ["account": "\(name)", "reason": "\(reason)"])
                return .renewed
            case .failure(let error):
                failure = error
            }
        }
        logger.warning(
            "could not renew the Kerberos ticket",
            metadata: ["account": "\(name)", "reason": "\(reason)", "error": "\(failure.message)"])
        return KerberosFlow.renewal(failure)
    }

    /// The scheduler's part for Kerberos accounts: keep tickets fresh, or say a sign-in is
    /// needed; returns when the next look is due (`TicketMachine.scheduledLook`: shortly before
    /// a renewal is due, and at least every `TicketMachine.longestLook`, so a `kinit` outside
    /// Latchkey shows in `status`).
    func checkTickets() async -> Timestamp? {
        var next: Timestamp?
        for name in order where !Task.isCancelled {
            guard let account = accounts[name], account.config.method == .kerberos, account.login == nil else {
                continue
            }
            guard account.kerberos.checkDue(now: clock()) else {
                if let due = account.kerberos.nextCheck { next = min(next ?? due, due) }
                continue
            }
            let minValid = account.config.minValid ?? settings.minValid
            let due = await checkTicket(name, kerberosFlow(name, account.config), renewBelow: minValid + 30)
            next = min(next ?? due, due)
        }
        return next
    }

    /// Looks at one account's ticket and renews it when fewer than `renewBelow` seconds are
    /// left; returns when to look again.
    private func checkTicket(_ name: String, _ flow: KerberosFlow, renewBelow: Double) async -> Timestamp {
        let looked = await flow.look()
        let retry = clock() + TicketMachine.retryLook
        switch accounts[name]?.kerberos.scheduledLook(looked.seen, renewBelow: renewBelow, now: clock()) {
        case .lookAgain(let at): return at
        case nil: return retry
        case .renew: break
        }
        // The renewal is a job of its own: a KDC that does not answer holds neither the other
        // accounts nor the daemon's shutdown in turn. Its end decides the next look.
        accounts[name]?.kerberos.scheduleCheck(at: retry)
        let generation = accounts[name]?.generation
        let before = looked.seen
        work.start {
            await self.scheduledRenewal(name, flow, before: before, renewBelow: renewBelow, generation: generation)
        }
        return retry
    }

    private func scheduledRenewal(
        _ name: String, _ flow: KerberosFlow, before: TicketMachine.Seen?, renewBelow: Double, generation: Int?
    ) async {
        let renewal = await refreshTicket(name, reason: "the ticket is about to expire", needed: renewBelow)
        let after = renewal == .renewed ? await flow.look().seen : nil
        // A sign-out or a new sign-in meanwhile: the renewal decides nothing.
        guard accounts[name]?.generation == generation,
            let (_, tell) = accounts[name]?.kerberos.renewalEnded(
                renewal, after, before: before, renewBelow: renewBelow, now: clock())
        else { return }
        if tell {
            logger.warning(
                "Kerberos sign-in needed: the ticket expires and cannot be renewed", metadata: ["account": "\(name)"])
            signInNeeded(name, because: "The Kerberos ticket of '\(name)' expires and cannot be renewed.")
        }
        wakeScheduler()
    }

    func servicePrincipal(_ name: String, _ config: AccountConfig, url: String?) throws(LatchkeyError) -> String {
        try kerberosFlow(name, config).servicePrincipal(url: url)
    }

    /// A Kerberos failure as the person sees it (`KerberosFlow.failure`), noted in the
    /// account's ticket machine.
    func kerberosError(_ name: String, _ error: KerberosError, service: String?) -> LatchkeyError {
        let config = accounts[name]?.config ?? AccountConfig(name: name)
        let failure = kerberosFlow(name, config).failure(error, service: service)
        accounts[name]?.kerberos.failed(error.message)
        if failure.signInRequired { accounts[name]?.kerberos.signInRequired() }
        return failure.error
    }
}

extension Result where Success == TicketMachine.Seen {
    /// The ticket found, or nil.
    var seen: TicketMachine.Seen? {
        if case .success(let seen) = self { return seen }
        return nil
    }
}
