import LatchkeyCore
import LatchkeyOAuth
import Testing

@testable import LatchkeyBroker

/// One refresh per account at a time, with every request that needed it sharing its result.
@Suite struct SingleFlightTests {
    @Test func concurrentRequestsForAnExpiredTokenShareOneRefresh() async throws {
        let harness = BrokerHarness()
        try await harness.signedIn(accessTokenLeft: -10)
        await harness.provider.refreshGate.close()
        try await harness.run { (broker) async throws in
            let tokens = try await withThrowingTaskGroup(of: String.self) { group in
                for _ in 0..<8 {
                    group.addTask { try await broker.token(account: "work").value.reveal() }
                }
                await harness.provider.refreshGate.arrived(1)
                await harness.waitForWaiters(8)
                await harness.provider.refreshGate.open()
                return try await group.reduce(into: [String]()) { $0.append($1) }
            }
            #expect(tokens == Array(repeating: "access-1", count: 8))
        }
        #expect(harness.provider.seen.refreshes == 1)
        #expect(harness.provider.seen.refreshTokens == ["refresh-0"])
        // The rotated refresh token was stored before the token was handed out.
        #expect(try await harness.store.read(account: "work", kind: .refreshToken)?.reveal() == "refresh-1")
    }

    @Test func aValidTokenIsServedWithoutAskingTheProvider() async throws {
        let harness = BrokerHarness()
        try await harness.signedIn(accessTokenLeft: 3600)
        try await harness.run { (broker) async throws in
            for _ in 0..<5 { #expect(try await broker.token(account: "work").value.reveal() == "access-0") }
        }
        #expect(harness.provider.seen.refreshes == 0)
    }
}
