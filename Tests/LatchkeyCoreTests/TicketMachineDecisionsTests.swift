import LatchkeyCore
import Testing

/// The Kerberos account's decisions as events of the pure machine (issue 16): what a look at
/// the ticket cache means for a header and for the scheduler, with the time handed in.
@Suite struct TicketMachineDecisionsTests {
    let t0 = Timestamp(secondsSinceEpoch: 1_800_000_000)

    func seen(_ left: Int, renewable: Int = 0) -> TicketMachine.Seen {
        TicketMachine.Seen(principal: "alice@EXAMPLE.TEST", secondsLeft: left, renewableSecondsLeft: renewable)
    }

    @Test func aTicketThatLastsIsServedAndNoted() {
        var machine = TicketMachine()
        #expect(machine.use(seen(600, renewable: 3600), minValid: 60, now: t0) == .serve(until: t0 + 600))
        #expect(machine.state == .valid && machine.renewTill == t0 + 3600)
    }

    @Test func aShortOrMissingTicketIsRenewedFirst() {
        var machine = TicketMachine()
        #expect(machine.use(seen(30), minValid: 60, now: t0) == .renew)
        #expect(machine.use(nil, minValid: 60, now: t0) == .renew)
        #expect(machine.state == .signedOut)  // nothing noted before the renewal
    }

    @Test func aTicketTooShortThatCouldNotBeRenewedNeedsASignIn() {
        var machine = TicketMachine()
        machine.signedIn(expiresAt: t0 + 30)
        #expect(machine.useAfterRenewal(.failed, seen(30), minValid: 60, now: t0) == .tooShort(seen(30)))
        #expect(machine.state == .signinRequired)
        #expect(machine.useAfterRenewal(.failed, nil, minValid: 60, now: t0) == .noTicket)
        #expect(machine.useAfterRenewal(.renewed, seen(900), minValid: 60, now: t0) == .serve(until: t0 + 900))
        #expect(machine.state == .valid)
    }

    @Test func aRequestForMoreThanTheKDCGivesLeavesTheAccountAlone() {
        var machine = TicketMachine()
        machine.signedIn(expiresAt: t0 + 120)
        #expect(
            machine.useAfterRenewal(.renewed, seen(120), minValid: 600, now: t0) == .longerThanTheKDCGives(seen(120)))
        #expect(machine.state == .valid)
    }

    @Test func anUnreachableKDCIsNoReasonForASignInWhileTheTicketLasts() {
        var machine = TicketMachine()
        machine.signedIn(expiresAt: t0 + 30)
        #expect(machine.useAfterRenewal(.unreachable("down"), seen(30), minValid: 60, now: t0) == .unreachable("down"))
        #expect(machine.state == .valid && machine.lastError == "down")
        let ended = machine.renewalEnded(.unreachable("down"), nil, renewBelow: 90, now: t0)
        #expect(ended == (t0 + 60, false))
        #expect(machine.state == .valid)
        // Once the ticket has ended, only a sign-in helps (an expired ticket cannot be renewed).
        let late = machine.renewalEnded(.unreachable("down"), nil, renewBelow: 90, now: t0 + 31)
        #expect(late.tellPerson && machine.state == .signinRequired)
    }

    @Test func theSchedulerLooksAgainShortlyBeforeTheRenewalIsDue() {
        var machine = TicketMachine()
        // 600 s left, renewed below 90: looked at again after 510 s.
        #expect(machine.scheduledLook(seen(600), renewBelow: 90, now: t0) == .lookAgain(at: t0 + 510))
        #expect(machine.nextCheck == t0 + 510 && !machine.checkDue(now: t0 + 509) && machine.checkDue(now: t0 + 510))
        // A long ticket: at most 15 minutes, so a kinit outside Latchkey shows.
        #expect(machine.scheduledLook(seen(36_000), renewBelow: 90, now: t0) == .lookAgain(at: t0 + 900))
        // Just above the line: not sooner than 10 s.
        #expect(machine.scheduledLook(seen(95), renewBelow: 90, now: t0) == .lookAgain(at: t0 + 10))
    }

    @Test func anAccountNeverSignedInWithNoTicketWaits() {
        var machine = TicketMachine()
        #expect(machine.scheduledLook(nil, renewBelow: 90, now: t0) == .lookAgain(at: t0 + 60))
    }

    @Test func aTicketAboutToEndIsRenewed() {
        var machine = TicketMachine()
        machine.signedIn(expiresAt: t0 + 80)
        #expect(machine.scheduledLook(seen(80), renewBelow: 90, now: t0) == .renew)
        #expect(machine.scheduledLook(nil, renewBelow: 90, now: t0) == .renew)
    }

    @Test func aTicketDueForRenewalCountsWhenTheKDCCannotBeReached() {
        var machine = TicketMachine()
        #expect(machine.scheduledLook(seen(80), renewBelow: 90, now: t0) == .renew)
        #expect(machine.state == .signedOut)  // decided by the renewal's end
        let ended = machine.renewalEnded(.unreachable("down"), nil, before: seen(80), renewBelow: 90, now: t0 + 1)
        #expect(ended == (t0 + 61, false))
        #expect(machine.state == .valid && machine.expiresAt == t0 + 81)
    }

    @Test func aRenewalThatWorkedIsNotedAndScheduled() {
        var machine = TicketMachine()
        machine.signedIn(expiresAt: t0 + 80)
        let ended = machine.renewalEnded(.renewed, seen(3600, renewable: 7200), renewBelow: 90, now: t0)
        #expect(ended.next == t0 + 900 && !ended.tellPerson)
        #expect(machine.expiresAt == t0 + 3600 && machine.renewTill == t0 + 7200)
    }

    @Test func aFailedRenewalTellsThePersonOnceAndRetriesInAMinute() {
        var machine = TicketMachine()
        machine.signedIn(expiresAt: t0 + 80)
        let first = machine.renewalEnded(.failed, nil, renewBelow: 90, now: t0)
        let second = machine.renewalEnded(.failed, nil, renewBelow: 90, now: t0 + 60)
        #expect(first.tellPerson && !second.tellPerson)
        #expect(first.next == t0 + 60 && second.next == t0 + 120)
        #expect(machine.state == .signinRequired)
    }

    @Test func aRenewalWhoseTicketCannotBeReadIsNoReasonToAskForASignIn() {
        var machine = TicketMachine()
        machine.signedIn(expiresAt: t0 + 80)
        let ended = machine.renewalEnded(.renewed, nil, renewBelow: 90, now: t0)
        #expect(ended == (t0 + 60, false))
        #expect(machine.state == .valid)
    }

    @Test func aTicketShorterThanTheMarginEvenWhenNewIsRenewedShortlyBeforeItEnds() {
        var machine = TicketMachine()
        machine.signedIn(expiresAt: t0 + 120)
        // The margin is 130 s; the KDC's tickets last 120 s: not again in 10 s, but 30 s before the end.
        let ended = machine.renewalEnded(.renewed, seen(120), renewBelow: 130, now: t0)
        #expect(ended == (t0 + 90, false))
        #expect(machine.nextCheck == t0 + 90)
    }
}
