import LatchkeyCore
import LatchkeyStore
import Testing

@testable import LatchkeyBroker

/// A logout that lands while a sign-in writes its secrets stays a logout (issue 16): the
/// sign-in ends as signed out and takes back what it wrote.
@Suite struct LogoutRaceTests {
    @Test func aLogoutDuringTheSignInsStoreWriteStaysALogout() async throws {
        let harness = BrokerHarness()
        await harness.store.writes.close()
        try await harness.run { (broker) async throws in
            let events = try await broker.login(account: "work")
            await harness.store.writes.arrived(1)  // the sign-in is writing its refresh token
            try await broker.logout(account: "work")
            await harness.store.writes.open()
            var last: LoginEvent?
            for await event in events { last = event }
            guard case .error(let error) = last else {
                Issue.record("the sign-in ended with \(String(describing: last))")
                return
            }
            #expect(error.code == .signinRequired && error.message.contains("signed out during the sign-in"))
            #expect(try await broker.summary(account: "work").state == .signedOut)
            await #expect { try await broker.token(account: "work") } throws: { error in
                (error as? LatchkeyError)?.code == .signinRequired
            }
        }
        #expect(try await harness.store.read(account: "work", kind: .refreshToken) == nil)
        #expect(try await harness.store.read(account: "work", kind: .accessToken) == nil)
        #expect(harness.provider.seen.polls == 1)
    }

    @Test func aSignInWithoutALogoutCommits() async throws {
        let harness = BrokerHarness()
        try await harness.run { (broker) async throws in
            var last: LoginEvent?
            for await event in try await broker.login(account: "work") { last = event }
            guard case .done = last else {
                Issue.record("the sign-in ended with \(String(describing: last))")
                return
            }
            #expect(try await broker.token(account: "work").value.reveal() == "access-1")
        }
        #expect(try await harness.store.read(account: "work", kind: .refreshToken)?.reveal() == "refresh-1")
    }

    /// Where a refresh is held while the person signs out.
    enum RefreshHeld: CaseIterable, Sendable {
        /// The provider has not answered yet (it rotates the refresh token when it does).
        case atTheProvider
        /// The refresh is writing the rotated refresh token to the store.
        case atTheStore
    }

    /// A refresh overtaken by a logout keeps nothing: the refresh token the provider rotated is
    /// neither kept in memory nor left in the store (what it wrote, it takes back).
    @Test(arguments: RefreshHeld.allCases)
    func aLogoutDuringARefreshStaysALogout(_ held: RefreshHeld) async throws {
        let harness = BrokerHarness()
        try await harness.signedIn(accessTokenLeft: -10)
        let gate = held == .atTheProvider ? harness.provider.refreshGate : harness.store.writes
        await gate.close()
        try await harness.run { (broker) async throws in
            async let request = Self.failure(of: broker)
            await gate.arrived(1)
            await harness.waitForWaiters(1)
            try await broker.logout(account: "work")
            await gate.open()
            #expect(await request?.code == .signinRequired)
        }
        // The broker's jobs are drained: the refresh has finished.
        #expect(try await harness.broker.summary(account: "work").state == .signedOut)
        await #expect { try await harness.broker.token(account: "work") } throws: { error in
            (error as? LatchkeyError)?.code == .signinRequired
        }
        #expect(try await harness.store.read(account: "work", kind: .refreshToken) == nil)
        #expect(try await harness.store.read(account: "work", kind: .accessToken) == nil)
        #expect(harness.provider.seen.refreshes == 1)
    }

    /// How a request for the account's token failed; nil: it got a token.
    static func failure(of broker: Broker) async -> LatchkeyError? {
        do {
            _ = try await broker.token(account: "work")
            return nil
        } catch {
            return error
        }
    }

    /// A refresh decided before a logout and run after it (its job was still queued) is stale:
    /// it does not ask the provider, and the account stays signed out, not "sign-in required".
    @Test func aRefreshQueuedBeforeALogoutIsStaleWhenItRuns() async throws {
        let harness = BrokerHarness()
        try await harness.signedIn(accessTokenLeft: -10)
        let broker = harness.broker
        let request = Task { try? await broker.token(account: "work") }
        await harness.waitForWaiters(1)  // decided and queued; nothing runs the jobs yet
        try await broker.logout(account: "work")
        #expect(await request.value == nil)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await broker.work.run() }
            for _ in 0..<200 { await Task.yield() }
            await broker.stop()
            try await group.waitForAll()
        }
        #expect(try await broker.summary(account: "work").state == .signedOut)
        #expect(harness.provider.seen.refreshTokens.isEmpty)
    }
}
