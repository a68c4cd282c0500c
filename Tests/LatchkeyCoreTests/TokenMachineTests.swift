import LatchkeyCore
import Testing

/// The token's life without a network or a clock: events in, actions out.
@Suite struct TokenMachineTests {
    let t0 = Timestamp(secondsSinceEpoch: 1_000_000)

    func token(issued: Timestamp, lifetime: Double, _ value: String = "tok") -> AccessToken {
        AccessToken(value: Secret(value), issuedAt: issued, expiresAt: issued + lifetime)
    }

    func signedIn(lifetime: Double = 3600) -> TokenMachine {
        var machine = TokenMachine(account: "work")
        machine.signedIn(token(issued: t0, lifetime: lifetime), hasRefreshToken: true)
        return machine
    }

    @Test func startsSignedOutAndRefusesWithTheLoginHint() {
        var machine = TokenMachine(account: "work")
        #expect(machine.state == .signedOut)
        guard case .fail(let error) = machine.request(minValid: 60, now: t0) else {
            Issue.record("expected a failure"); return
        }
        #expect(error.code == .signinRequired)
        #expect(error.hint.contains("latchkey login work"))
    }

    @Test func servesAValidTokenWithoutTheProvider() {
        var machine = signedIn()
        #expect(machine.request(minValid: 60, now: t0 + 10) == .serve(token(issued: t0, lifetime: 3600)))
        #expect(machine.state == .valid)
    }

    @Test func honoursMinValidByRefreshing() {
        var machine = signedIn()
        #expect(machine.request(minValid: 60, now: t0 + 3550) == .startRefresh)
        #expect(machine.state == .refreshing)
    }

    @Test func singleFlightJoinsTheRunningRefresh() {
        var machine = signedIn(lifetime: 20)
        let later = t0 + 30
        #expect(machine.request(minValid: 0, now: later) == .startRefresh)
        for _ in 0..<1000 { #expect(machine.request(minValid: 0, now: later) == .joinRefresh) }
        let fresh = token(issued: later, lifetime: 20, "new")
        #expect(machine.refreshSucceeded(fresh, now: later) == .serveWaiters(fresh))
        #expect(machine.request(minValid: 0, now: later + 1) == .serve(fresh))
    }

    @Test func aFreshTokenShorterThanMinValidIsHandedOutAsItIs() {
        // The provider's tokens live 20 s; the client asks for 120 s. One refresh, no loop:
        // the waiters get the refresh's result whatever min_valid said, and so do later requests.
        var machine = signedIn(lifetime: 20)
        #expect(machine.request(minValid: 120, now: t0 + 1) == .startRefresh)
        let fresh = token(issued: t0 + 1, lifetime: 20, "new")
        #expect(machine.refreshSucceeded(fresh, now: t0 + 1) == .serveWaiters(fresh))
        #expect(machine.request(minValid: 120, now: t0 + 2) == .serve(fresh))
    }

    /// Plays `requests` requests `step` seconds apart against a provider whose tokens live
    /// `lifetime` seconds (each refresh succeeds at once): how many refreshes they caused.
    func refreshes(lifetime: Double, minValid: Double, step: Double, requests: Int) -> Int {
        var machine = signedIn(lifetime: lifetime)
        var count = 0
        for i in 1...requests {
            let now = t0 + Double(i) * step
            switch machine.request(minValid: minValid, now: now) {
            case .serve(let served):
                #expect(!served.isExpired(at: now), "an expired token was handed out at +\(Double(i) * step) s")
            case .startRefresh:
                count += 1
                let fresh = token(issued: now, lifetime: lifetime, "new\(count)")
                #expect(machine.refreshSucceeded(fresh, now: now) == .serveWaiters(fresh))
            case .joinRefresh, .fail:
                Issue.record("nothing else is in flight at +\(Double(i) * step) s")
            }
        }
        return count
    }

    @Test func tokensShorterThanMinValidAreRefreshedAtMostOncePerHalfTheirLife() {
        // SPEC §6: 20 s tokens, min_valid 60 s. The sign-in's token is refreshed once; the
        // refresh shows that 20 s is the freshest the provider gives, so its token is handed
        // out as it is until half its life has passed.
        var machine = signedIn(lifetime: 20)
        #expect(machine.request(minValid: 60, now: t0 + 1) == .startRefresh)
        let fresh = token(issued: t0 + 1, lifetime: 20, "new")
        #expect(machine.refreshSucceeded(fresh, now: t0 + 1) == .serveWaiters(fresh))
        for second in 2...10 { #expect(machine.request(minValid: 60, now: t0 + Double(second)) == .serve(fresh)) }
        #expect(machine.request(minValid: 60, now: t0 + 11) == .startRefresh)
        // Three requests in a row, one second apart: one refresh, not three.
        #expect(refreshes(lifetime: 20, minValid: 60, step: 1, requests: 3) == 1)
        // A request every second for ten minutes: one refresh per 10 s, never one per request.
        #expect(refreshes(lifetime: 20, minValid: 60, step: 1, requests: 600) == 60)
        // A request every 0.25 s for a minute, with 2 s tokens: one refresh per second.
        #expect(refreshes(lifetime: 2, minValid: 60, step: 0.25, requests: 240) == 60)
    }

    @Test func aTokenBarelyLongerThanMinValidIsNotRefreshedOnEveryRequest() {
        // 61 s tokens and min_valid 60: honouring min_valid to the letter would refresh on every
        // request from the second second of each token's life. Half the life (30.5 s) is the bound.
        #expect(refreshes(lifetime: 61, minValid: 60, step: 1, requests: 30) == 1)
        #expect(refreshes(lifetime: 61, minValid: 60, step: 1, requests: 610) == 20)
        // Long tokens still honour min_valid exactly: refreshed when 60 s are left.
        #expect(refreshes(lifetime: 3600, minValid: 60, step: 1, requests: 3540) == 0)
        #expect(refreshes(lifetime: 3600, minValid: 60, step: 1, requests: 3541) == 1)
    }

    @Test func aDroppedOrReplacedTokenLosesItsShortTokenAllowance() {
        var machine = signedIn(lifetime: 20)
        #expect(machine.request(minValid: 60, now: t0 + 1) == .startRefresh)
        let fresh = token(issued: t0 + 1, lifetime: 20, "new")
        _ = machine.refreshSucceeded(fresh, now: t0 + 1)
        machine.restored(fresh, hasRefreshToken: true)  // the broker re-syncing a scoped machine
        #expect(machine.request(minValid: 60, now: t0 + 2) == .serve(fresh))
        machine.dropAccessToken()  // a client reported invalid_token
        #expect(machine.request(minValid: 60, now: t0 + 3) == .startRefresh)
        let again = token(issued: t0 + 3, lifetime: 20, "again")
        _ = machine.refreshSucceeded(again, now: t0 + 3)
        machine.signedIn(token(issued: t0 + 4, lifetime: 20, "signed"), hasRefreshToken: true)
        #expect(machine.request(minValid: 60, now: t0 + 5) == .startRefresh)
    }

    @Test func transientFailureKeepsServingAValidTokenAndBacksOff() {
        var machine = signedIn(lifetime: 100)
        #expect(machine.request(minValid: 60, now: t0 + 50) == .startRefresh)
        let outcome = machine.refreshFailed(.transient(message: "HTTP 503", retryAfter: 60), now: t0 + 50)
        #expect(outcome == .serveWaiters(token(issued: t0, lifetime: 100)))
        #expect(machine.state == .error)
        // Within the backoff the still-valid token is served; no new refresh starts.
        #expect(machine.request(minValid: 60, now: t0 + 60) == .serve(token(issued: t0, lifetime: 100)))
        // After expiry and within the backoff: provider_unavailable with Retry-After.
        #expect(machine.request(minValid: 60, now: t0 + 79.5) == .serve(token(issued: t0, lifetime: 100)))
        guard case .fail(let late) = machine.request(minValid: 0, now: t0 + 100.5) else {
            Issue.record("expected failure"); return
        }
        #expect(late.code == .providerUnavailable)
        #expect((late.retryAfter ?? 0) >= 1)
        // After the backoff a new refresh starts by itself, and success clears the error.
        #expect(machine.request(minValid: 60, now: t0 + 200) == .startRefresh)
        _ = machine.refreshSucceeded(token(issued: t0 + 200, lifetime: 100), now: t0 + 200)
        #expect(machine.state == .valid)
        #expect(machine.lastError == nil)
    }

    @Test func backoffGrowsExponentiallyAndHonoursRetryAfter() {
        var machine = signedIn(lifetime: 10)
        var now = t0 + 20
        var previous = 0.0
        for _ in 0..<5 {
            #expect(machine.request(minValid: 0, now: now) == .startRefresh)
            _ = machine.refreshFailed(.transient(message: "down", retryAfter: nil), now: now)
            let delay = machine.retryAt! - now
            #expect(delay > previous)
            previous = delay
            now = machine.retryAt!
        }
        #expect(machine.request(minValid: 0, now: now) == .startRefresh)
        _ = machine.refreshFailed(.transient(message: "429", retryAfter: 120), now: now)
        #expect(machine.retryAt! - now >= 120)
    }

    @Test func permanentFailureRequiresSignInAndServesNothing() {
        var machine = signedIn(lifetime: 100)
        #expect(machine.request(minValid: 60, now: t0 + 50) == .startRefresh)
        guard case .failWaiters(let error) = machine.refreshFailed(.permanent(message: "invalid_grant"), now: t0 + 50)
        else {
            Issue.record("expected failure"); return
        }
        #expect(error.code == .signinRequired)
        #expect(machine.state == .signinRequired)
        guard case .fail = machine.request(minValid: 0, now: t0 + 51) else { Issue.record("expected failure"); return }
        machine.signedIn(token(issued: t0 + 60, lifetime: 100), hasRefreshToken: true)
        #expect(machine.state == .valid)
    }

    @Test func expiryIsJudgedByTheWallClockAfterASuspend() {
        var machine = signedIn(lifetime: 3600)
        // The machine "slept" for a day: the first request after waking sees the expiry.
        #expect(machine.request(minValid: 60, now: t0 + 86_400) == .startRefresh)
    }

    @Test func zeroSecondsLeftCountsAsExpired() {
        #expect(token(issued: t0, lifetime: 10).isExpired(at: t0 + 10))
    }

    @Test func proactiveRefreshIsDueBeforeExpiryAndNeverLoops() {
        let long = signedIn(lifetime: 3600)
        #expect(long.refreshDue(refreshBefore: 300, minValid: 60) == t0 + 3240)  // 10% of an hour
        let short = signedIn(lifetime: 20)
        #expect(short.refreshDue(refreshBefore: 300, minValid: 5) == t0 + 10)  // at most half the life
        let medium = signedIn(lifetime: 1200)
        #expect(medium.refreshDue(refreshBefore: 300, minValid: 60) == t0 + 900)
    }

    @Test func signOutForgetsEverything() {
        var machine = signedIn()
        machine.signedOut()
        #expect(machine.state == .signedOut)
        #expect(machine.token == nil)
    }
}
