import LatchkeyCore
import LatchkeyStore
import Testing

@testable import LatchkeyBroker

/// A sign-in that commits while a refresh of the account runs: the refresh is stale (the
/// account's generation moved) and keeps nothing, and the account is what the sign-in made it.
@Suite struct SignInRaceTests {
    /// Runs a sign-in of "work" to its end; false (an issue recorded) unless it ends signed in.
    static func signIn(_ broker: Broker) async throws -> Bool {
        var last: LoginEvent?
        for await event in try await broker.login(account: "work") { last = event }
        guard case .done = last else {
            Issue.record("the sign-in ended with \(String(describing: last))")
            return false
        }
        return true
    }

    @Test func aSignInWhileTheProviderAnswersARefreshLeavesTheAccountValid() async throws {
        let harness = BrokerHarness()
        try await harness.signedIn(accessTokenLeft: -10)
        await harness.provider.refreshGate.close()
        try await harness.run { (broker) async throws in
            async let request = try? broker.token(account: "work")
            await harness.provider.refreshGate.arrived(1)
            await harness.waitForWaiters(1)
            guard try await Self.signIn(broker) else { return }
            await harness.provider.refreshGate.open()
            _ = await request
            // The refresh has handed its (stale) outcome to its waiter: it is over.
            try #require(try await broker.summary(account: "work").state == .valid)
            #expect(try await broker.token(account: "work").value.reveal() == "access-1")
            // When the sign-in's token runs out, a new refresh starts from its refresh token.
            harness.clock.advance(by: 3600)
            #expect(try await broker.token(account: "work").value.reveal() == "access-3")
        }
        #expect(harness.provider.seen.refreshTokens == ["refresh-0", "refresh-1"])
        #expect(try await harness.store.read(account: "work", kind: .refreshToken)?.reveal() == "refresh-3")
    }

    /// The refresh writes its rotated tokens, then a sign-in begins to commit and writes its
    /// own: the stale refresh must not take back (delete) the sign-in's secrets.
    @Test func aSignInWhileARefreshWritesItsTokensKeepsTheSignInsSecrets() async throws {
        let harness = BrokerHarness()
        try await harness.signedIn(accessTokenLeft: -10)
        let writes = harness.store.writes
        await writes.close()
        try await harness.run { (broker) async throws in
            async let request = try? broker.token(account: "work")
            await writes.arrived(1)  // the refresh writes refresh-1
            let events = try await broker.login(account: "work")
            await writes.arrived(2)  // the sign-in writes refresh-2
            await writes.releaseFirst()
            await writes.arrived(3)  // refresh-1 is stored; the refresh writes its access token
            await writes.releaseFirst()
            await writes.arrived(4)  // refresh-2 is stored; the sign-in writes its access token
            await writes.open()
            var last: LoginEvent?
            for await event in events { last = event }
            guard case .done = last else {
                Issue.record("the sign-in ended with \(String(describing: last))")
                return
            }
            _ = await request
            #expect(try await broker.summary(account: "work").state == .valid)
            #expect(try await broker.token(account: "work").value.reveal() == "access-2")
        }
        #expect(try await harness.store.read(account: "work", kind: .refreshToken)?.reveal() == "refresh-2")
    }

    /// Requests waiting on a refresh that a sign-in made stale get the sign-in's token when it
    /// commits, and the stale refresh's late answer wakes nobody: not the requests of a newer
    /// refresh of the same account, which get that refresh's token.
    @Test func waitersOfARefreshASignInOvertookGetTheSignInsTokenAndNobodyElsesAnswer() async throws {
        let harness = BrokerHarness()
        try await harness.signedIn(accessTokenLeft: -10)
        await harness.provider.refreshGate.close()
        try await harness.run { (broker) async throws in
            async let first = try? broker.token(account: "work")
            await harness.provider.refreshGate.arrived(1)  // the stale-to-be refresh, held
            await harness.waitForWaiters(1)
            guard try await Self.signIn(broker) else { return }
            // Handed the sign-in's token at its commit, not left waiting on the stale refresh.
            #expect(await broker.waitingRequests(account: "work") == 0)
            // The sign-in's token runs out: a newer refresh starts while the stale one is held.
            harness.clock.advance(by: 3600)
            async let second = try? broker.token(account: "work")
            await harness.provider.refreshGate.arrived(2)
            await harness.waitForWaiters(1)
            await harness.provider.refreshGate.releaseFirst()  // the stale refresh answers first
            for _ in 0..<200 { await Task.yield() }
            #expect(await broker.waitingRequests(account: "work") == 1)
            await harness.provider.refreshGate.open()
            #expect(await first?.value.reveal() == "access-1")
            #expect(await second?.value.reveal() == "access-3")
        }
    }
}
