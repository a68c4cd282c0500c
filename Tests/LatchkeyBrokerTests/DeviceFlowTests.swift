import LatchkeyCore
import LatchkeyHTTP
import LatchkeyOAuth
import Logging
import Synchronization
import Testing

@testable import LatchkeyBroker

/// The OAuth flow's device sign-in (RFC 8628) over the in-memory provider: the waits between
/// polls are recorded, not slept, and the clock moves only by them.
@Suite struct DeviceFlowTests {
    /// The flow with a sleep that records each wait and moves the test clock by it.
    final class Run: Sendable {
        let provider = MemoryProvider()
        let clock = TestClock()
        let waits = Mutex<[Double]>([])
        let shown = Mutex<[LoginEvent]>([])

        var flow: OAuthFlow {
            OAuthFlow(
                name: "work", config: BrokerHarness.configuration().accounts[0], exchange: provider,
                options: HTTPOptions(),
                logger: Logger(label: "device-flow-test") { _ in SwiftLogNoOpLogHandler() },
                clock: { [clock] in clock.now() },
                sleep: { [self] seconds in
                    try Task.checkCancellation()
                    waits.withLock { $0.append(seconds) }
                    clock.advance(by: seconds)
                })
        }

        func signIn() async throws(OAuthFlow.SignInFailure) -> TokenResponse {
            try await flow.deviceSignIn(
                metadata: ProviderMetadata(
                    tokenEndpoint: "https://idp.test/token", deviceAuthorizationEndpoint: "https://idp.test/device"),
                claims: nil, show: { [self] event in shown.withLock { $0.append(event) } })
        }
    }

    static let unreachable = OAuthError(kind: .transport(.connect), message: "cannot connect to idp.test")

    @Test func slowDownAddsFiveSecondsAndAFailedConnectionDoublesTheWait() async throws {
        let run = Run()
        run.provider.scriptPolls([
            .success(.pending), .success(.slowDown), .failure(Self.unreachable), .success(.pending),
        ])
        let response = try await run.signIn()
        #expect(response.accessToken.reveal() == "access-1")
        // The provider's interval 0 is read as RFC 8628's 5 s: 5, 5 (pending), 10 (slow_down: 5 s
        // more), 20 (no connection: doubled), 20 (pending), then the grant.
        #expect(run.waits.withLock { $0 } == [5, 5, 10, 20, 20])
        #expect(run.provider.seen.polls == 5)
        let prompts = run.shown.withLock { $0 }
        guard case .devicePrompt(let prompt) = prompts.first else {
            Issue.record("the code was not shown first: \(prompts)")
            return
        }
        #expect(prompt.userCode == "ABCD-EFGH")
    }

    @Test func aRefusalAtTheProviderEndsTheSignIn() async {
        let run = Run()
        run.provider.scriptPolls([.failure(OAuthError(kind: .provider(code: "access_denied"), message: "declined"))])
        do {
            _ = try await run.signIn()
            Issue.record("signed in after a refusal")
        } catch {
            guard case .provider(let refusal) = error else {
                Issue.record("not the provider's refusal: \(error)")
                return
            }
            #expect(refusal.code == "access_denied")
        }
    }

    @Test func theCodesDeadlineEndsTheSignIn() async {
        let run = Run()
        // The code lives 600 s; slow_down after slow_down waits 5, 10, 15, … s.
        run.provider.scriptPolls(Array(repeating: .success(.slowDown), count: 100))
        do {
            _ = try await run.signIn()
            Issue.record("signed in after the code expired")
        } catch {
            guard case .failed(let failure) = error else {
                Issue.record("not the deadline: \(error)")
                return
            }
            #expect(failure.message.contains("expired"))
        }
        #expect(run.provider.seen.polls < 100)
    }

    @Test func aCancelledSignInEndsAsCancelled() async {
        let run = Run()
        run.provider.scriptPolls(Array(repeating: .success(.pending), count: 10))
        let task = Task { () async -> Bool in
            withUnsafeCurrentTask { $0?.cancel() }
            do throws(OAuthFlow.SignInFailure) {
                _ = try await run.signIn()
                return false
            } catch {
                if case .cancelled = error { return true }
                return false
            }
        }
        #expect(await task.value)
    }
}
