import LatchkeyCore
import Testing

/// What is due when, without a clock: an account in use is refreshed ahead of expiry, an idle
/// one only to keep its refresh token alive.
@Suite struct RefreshScheduleTests {
    let t0 = Timestamp(secondsSinceEpoch: 1_000_000)
    let schedule = RefreshSchedule(activeWindow: 4 * 3600, keepaliveInterval: 7 * 86_400)

    /// An hour-long token issued at t0 whose refresh is due at t0 + 3300.
    func decide(now: Timestamp, lastUsed: Timestamp?, retryAt: Timestamp? = nil, jitter: Double = 0)
        -> RefreshSchedule.Decision
    {
        schedule.decide(
            refreshDue: t0 + 3300, retryAt: retryAt, issuedAt: t0, lastUsed: lastUsed, now: now, jitter: jitter)
    }

    @Test func waitsForTheRefreshDueTimeWhateverTheUse() {
        #expect(decide(now: t0 + 10, lastUsed: t0 + 5) == .wait(until: t0 + 3300))
        #expect(decide(now: t0 + 10, lastUsed: nil) == .wait(until: t0 + 3300))
    }

    @Test func anAccountInUseIsRefreshedAheadOfExpiry() {
        #expect(decide(now: t0 + 3300, lastUsed: t0 + 3000) == .refreshNow(.active))
        // Used just inside the window.
        #expect(decide(now: t0 + 3300, lastUsed: t0 + Double(3300 - 4 * 3600)) == .refreshNow(.active))
    }

    @Test func anIdleAccountWaitsForItsKeepAlive() {
        #expect(decide(now: t0 + 3300, lastUsed: nil) == .wait(until: t0 + 7 * 86_400))
        #expect(decide(now: t0 + 5 * 3600, lastUsed: t0 + 60) == .wait(until: t0 + 7 * 86_400))
        #expect(decide(now: t0 + 7 * 86_400, lastUsed: nil) == .refreshNow(.keepAlive))
    }

    @Test func idleAccountsMakeNoProviderCallBetweenKeepAlives() {
        // Walk a quiet week an hour at a time: one refresh, at the keep-alive.
        var refreshes = 0
        var now = t0
        while now < t0 + 8 * 86_400 {
            if case .refreshNow = decide(now: now, lastUsed: nil) { refreshes += 1 }
            if refreshes > 0 { break }
            now = now + 3600
        }
        #expect(refreshes == 1)
        #expect(now >= t0 + 7 * 86_400)
    }

    @Test func jitterMakesKeepAlivesEarlierNeverLater() {
        #expect(decide(now: t0 + 3300, lastUsed: nil, jitter: 1) == .wait(until: t0 + 0.9 * 7 * 86_400))
        #expect(decide(now: t0 + 3300, lastUsed: nil, jitter: .nan) == .wait(until: t0 + 7 * 86_400))
        #expect(decide(now: t0 + 3300, lastUsed: nil, jitter: 7) == .wait(until: t0 + 0.9 * 7 * 86_400))
    }

    @Test func aBackoffIsHonouredInUseOrNot() {
        #expect(decide(now: t0 + 3300, lastUsed: t0, retryAt: t0 + 3310) == .wait(until: t0 + 3310))
        #expect(decide(now: t0 + 3310, lastUsed: nil, retryAt: t0 + 3310) == .refreshNow(.retry))
    }

    @Test func nothingToRefreshMeansNoWakeUp() {
        #expect(
            schedule.decide(refreshDue: nil, retryAt: nil, issuedAt: t0, lastUsed: t0, now: t0) == .wait(until: nil))
    }

    @Test func aKeepAliveShorterThanTheTokenComesFirst() {
        let short = RefreshSchedule(activeWindow: 60, keepaliveInterval: 600)
        #expect(
            short.decide(refreshDue: t0 + 3300, retryAt: nil, issuedAt: t0, lastUsed: nil, now: t0)
                == .wait(until: t0 + 600))
        // Due while the token is still valid: refreshed, not woken again and again.
        #expect(
            short.decide(refreshDue: t0 + 3300, retryAt: nil, issuedAt: t0, lastUsed: nil, now: t0 + 600)
                == .refreshNow(.keepAlive))
    }

    @Test func aRequestAfterAQuietSpellMakesTheAccountActive() {
        #expect(schedule.becomesActive(lastUsed: nil, now: t0))
        #expect(schedule.becomesActive(lastUsed: t0, now: t0 + 4 * 3600 + 1))
        #expect(!schedule.becomesActive(lastUsed: t0, now: t0 + 60))
    }

    @Test func sleepsAreCappedAndNeverNegative() {
        #expect(RefreshSchedule.sleep(until: nil, now: t0, cap: 60) == 60)
        #expect(RefreshSchedule.sleep(until: t0 + 3600, now: t0, cap: 60) == 60)
        #expect(RefreshSchedule.sleep(until: t0 + 2.5, now: t0, cap: 60) == 2.5)
        #expect(RefreshSchedule.sleep(until: t0 + -10, now: t0, cap: 60) == 0)
        #expect(RefreshSchedule.sleep(until: Timestamp(secondsSinceEpoch: .infinity), now: t0, cap: 60) == 60)
    }
}
