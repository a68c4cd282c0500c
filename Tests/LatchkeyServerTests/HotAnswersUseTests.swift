import LatchkeyBroker
import LatchkeyCore
import Testing

@testable import LatchkeyServer

/// What the use-aware scheduler learns from the cached path (`HotAnswers.lastServed`): the time
/// of the last request for an account, kept across its tokens, gone with a withdrawal, and
/// never set by a request the table does not answer.
@Suite struct HotAnswersUseTests {
    @Test func theLastRequestIsKeptAcrossTokensAndGoesWithAWithdrawal() throws {
        let hot = HotAnswers()
        let first = HotPathTests.token(expiresIn: 3600)
        hot.publish(account: "work", token: first, minValid: nil)
        #expect(hot.lastServed(account: "work") == nil)  // published, never asked for

        let asked = first.issuedAt + 5
        #expect(hot.servable("work", now: asked) != nil)
        #expect(hot.lastServed(account: "work") == asked)

        // A refreshed token carries the use over; a later request moves it on.
        hot.publish(account: "work", token: HotPathTests.token(expiresIn: 3600), minValid: nil)
        #expect(hot.lastServed(account: "work") == asked)
        #expect(hot.servable("work", now: asked + 10) != nil)
        #expect(hot.lastServed(account: "work") == asked + 10)

        hot.withdraw(account: "work")
        #expect(hot.lastServed(account: "work") == nil)
        #expect(hot.servable("work", now: asked + 20) == nil)
        #expect(hot.lastServed(account: "other") == nil)
    }

    @Test func aTokenTooShortToServeStillCountsAsAUse() throws {
        // The request reached the table: the account is in use even if the broker must answer.
        let hot = HotAnswers()
        let token = HotPathTests.token(expiresIn: 30)
        hot.publish(account: "work", token: token, minValid: 60)
        #expect(hot.servable("work", now: token.issuedAt + 1) == nil)
        #expect(hot.lastServed(account: "work") == token.issuedAt + 1)
    }
}
