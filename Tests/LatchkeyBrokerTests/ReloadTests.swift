import LatchkeyCore
import Testing

@testable import LatchkeyBroker

/// A reload that removes or changes an account while requests wait on it.
@Suite struct ReloadTests {
    @Test func requestsWaitingOnARemovedAccountAreToldItIsGone() async throws {
        let harness = BrokerHarness()
        try await harness.signedIn(accessTokenLeft: -10)
        await harness.provider.refreshGate.close()
        try await harness.run { (broker) async throws in
            try await withThrowingTaskGroup(of: LatchkeyError?.self) { group in
                for _ in 0..<3 {
                    group.addTask {
                        do { _ = try await broker.token(account: "work") } catch { return error as? LatchkeyError }
                        return nil
                    }
                }
                await harness.provider.refreshGate.arrived(1)  // the refresh is at the provider
                await harness.waitForWaiters(3)
                await broker.reload(Configuration())
                for try await error in group { #expect(error?.code == .unknownAccount) }
            }
            await harness.provider.refreshGate.open()
            await #expect { try await broker.token(account: "work") } throws: { error in
                (error as? LatchkeyError)?.code == .unknownAccount
            }
        }
        #expect(harness.provider.seen.refreshes == 1)
    }

    @Test func aChangedProviderIsAskedAtItsNewEndpoint() async throws {
        let harness = BrokerHarness()
        try await harness.signedIn(accessTokenLeft: -10)
        try await harness.run { (broker) async throws in
            #expect(try await broker.token(account: "work").value.reveal() == "access-1")
            await broker.reload(BrokerHarness.configuration(tokenEndpoint: "https://idp2.test/token"))
            harness.clock.advance(by: 3600)
            #expect(try await broker.token(account: "work").value.reveal() == "access-2")
        }
        #expect(harness.provider.seen.tokenEndpoints == ["https://idp.test/token", "https://idp2.test/token"])
        #expect(harness.provider.seen.refreshTokens == ["refresh-0", "refresh-1"])
    }

    @Test func aReloadThatKeepsTheAccountKeepsItsToken() async throws {
        let harness = BrokerHarness()
        try await harness.signedIn(accessTokenLeft: 3600)
        try await harness.run { (broker) async throws in
            await broker.reload(BrokerHarness.configuration())
            #expect(try await broker.token(account: "work").value.reveal() == "access-0")
        }
        #expect(harness.provider.seen.refreshes == 0)
    }
}
