import LatchkeyCore
import LatchkeyOAuth
import Testing

@testable import LatchkeyBroker

/// Transient failures back off (the provider's Retry-After honoured) and a token that has not
/// expired keeps being served meanwhile; permanent failures need a sign-in.
@Suite struct BackoffTests {
    static let unavailable = OAuthError(
        kind: .httpStatus(503), message: "idp.test answered 503", retryAfter: 120, httpStatus: 503)

    @Test func aTransientFailureBacksOffForRetryAfterAndKeepsServingTheValidToken() async throws {
        let harness = BrokerHarness()
        try await harness.signedIn(accessTokenLeft: 200)
        harness.provider.script([.failure(Self.unavailable)])
        try await harness.run { (broker) async throws in
            // 300 s wanted, 200 s left: a refresh, which fails; the token still valid is served.
            #expect(try await broker.token(account: "work", minValid: 300).value.reveal() == "access-0")
            harness.clock.advance(by: 60)
            // Within Retry-After (the exponential backoff alone would be 2 s): no new attempt.
            #expect(try await broker.token(account: "work", minValid: 300).value.reveal() == "access-0")
            #expect(harness.provider.seen.refreshes == 1)
            harness.clock.advance(by: 61)
            #expect(try await broker.token(account: "work", minValid: 300).value.reveal() == "access-1")
        }
        #expect(harness.provider.seen.refreshes == 2)
    }

    @Test func anExpiredTokenDuringBackoffIsAClearRetryLater() async throws {
        let harness = BrokerHarness()
        try await harness.signedIn(accessTokenLeft: -1)
        harness.provider.script([.failure(Self.unavailable)])
        try await harness.run { (broker) async throws in
            await #expect { try await broker.token(account: "work") } throws: { error in
                (error as? LatchkeyError)?.code == .providerUnavailable && (error as? LatchkeyError)?.retryAfter == 120
            }
            harness.clock.advance(by: 30)
            await #expect { try await broker.token(account: "work") } throws: { error in
                (error as? LatchkeyError)?.code == .providerUnavailable
            }
        }
        #expect(harness.provider.seen.refreshes == 1)
    }

    @Test func aPermanentFailureNeedsASignInAndAsksTheProviderNoMore() async throws {
        let harness = BrokerHarness()
        try await harness.signedIn(accessTokenLeft: -1)
        harness.provider.script([.failure(OAuthError(kind: .provider(code: "invalid_grant"), message: "invalid_grant"))]
        )
        try await harness.run { (broker) async throws in
            for _ in 0..<3 {
                await #expect { try await broker.token(account: "work") } throws: { error in
                    (error as? LatchkeyError)?.code == .signinRequired
                }
            }
        }
        #expect(harness.provider.seen.refreshes == 1)
    }
}
