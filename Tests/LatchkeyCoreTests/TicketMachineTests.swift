import LatchkeyCore
import Testing

/// The Kerberos (and Basic) account state as a pure machine: events in with the time.
@Suite struct TicketMachineTests {
    let t0 = Timestamp(secondsSinceEpoch: 1_800_000_000)

    @Test func aSeenTicketMakesTheAccountValidUntilItsExpiry() {
        var machine = TicketMachine()
        #expect(machine.state == .signedOut)
        machine.failed("KDC unreachable")
        let expires = machine.ticketSeen(secondsLeft: 600, now: t0)
        #expect(expires == t0 + 600)
        #expect(machine.state == .valid && machine.expiresAt == t0 + 600 && machine.lastError == nil)
    }

    @Test func theNeedForASignInIsNewsOnlyOnce() {
        var machine = TicketMachine()
        machine.signedIn(expiresAt: t0 + 60)
        let first = machine.signInRequired("the ticket expired")
        let second = machine.signInRequired()
        #expect(first && !second)
        #expect(machine.state == .signinRequired && machine.lastError == "the ticket expired")
        machine.signedIn(expiresAt: t0 + 600)
        #expect(machine.state == .valid)
        let again = machine.signInRequired()
        #expect(again)
    }

    @Test func aSignOutForgetsEverything() {
        var machine = TicketMachine()
        machine.signedIn(expiresAt: t0 + 600)
        machine.failed("fallback in use")
        machine.signedOut()
        #expect(machine.state == .signedOut && machine.expiresAt == nil && machine.lastError == nil)
    }

    @Test func theSchedulerLooksWhenTheCheckIsDue() {
        var machine = TicketMachine()
        #expect(machine.checkDue(now: t0))
        machine.scheduleCheck(at: t0 + 60)
        #expect(!machine.checkDue(now: t0 + 59) && machine.checkDue(now: t0 + 60))
        machine.scheduleCheck(at: nil)
        #expect(machine.checkDue(now: t0 + 1))
    }

    @Test func afterASignOutTheSchedulerLeavesTheCacheAlone() {
        var machine = TicketMachine()
        machine.signedOut()
        machine.scheduleCheck(at: nil)
        #expect(!machine.checkDue(now: t0) && machine.state == .signedOut)
        _ = machine.ticketSeen(secondsLeft: 600, now: t0)  // a request used a ticket
        #expect(machine.checkDue(now: t0) && machine.state == .valid)
    }

    @Test func theForecastIsTheEarlierOfRenewTillAndThePasswordExpiry() {
        var machine = TicketMachine()
        #expect(machine.forecast(remembersPassword: false) == nil)  // nothing known
        machine.signedIn(expiresAt: t0 + 3600, renewTill: t0 + 5 * 3600, passwordExpiresAt: t0 + 3 * 3600)
        #expect(machine.forecast(remembersPassword: false)?.by == t0 + 3 * 3600)
        #expect(machine.forecast(remembersPassword: false)?.reason.contains("password expires") == true)
        machine.signedIn(expiresAt: t0 + 3600, renewTill: t0 + 5 * 3600, passwordExpiresAt: t0 + 9 * 3600)
        #expect(machine.forecast(remembersPassword: false)?.by == t0 + 5 * 3600)
        #expect(machine.forecast(remembersPassword: false)?.reason.contains("renew-till") == true)
        // With the password remembered the daemon gets the next ticket itself: only the
        // password's expiry needs the person.
        #expect(machine.forecast(remembersPassword: true)?.by == t0 + 9 * 3600)
        machine.passwordExpiryReported(nil)
        #expect(machine.forecast(remembersPassword: true) == nil)
    }

    @Test func aTicketSeenUpdatesTheRenewableLife() {
        var machine = TicketMachine()
        _ = machine.ticketSeen(secondsLeft: 600, renewableSecondsLeft: 7200, now: t0)
        #expect(machine.renewTill == t0 + 7200)
        _ = machine.ticketSeen(secondsLeft: 600, renewableSecondsLeft: 0, now: t0)  // not renewable
        #expect(machine.renewTill == t0 + 600)
        #expect(machine.forecast(remembersPassword: false)?.reason.contains("cannot be renewed") == true)
        machine.failed("KDC unreachable")
        _ = machine.signInRequired()
        #expect(machine.forecast(remembersPassword: false) == nil)  // already needed: no forecast
        machine.signedOut()
        #expect(machine.renewTill == nil && machine.passwordExpiresAt == nil)
    }
}
