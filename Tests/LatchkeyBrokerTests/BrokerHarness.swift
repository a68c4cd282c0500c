import LatchkeyCore
import LatchkeyStore
import Logging
import Synchronization

@testable import LatchkeyBroker

/// A clock the test moves by hand.
final class TestClock: Sendable {
    private let current = Mutex(Timestamp(secondsSinceEpoch: 1_800_000_000))

    func now() -> Timestamp { current.withLock { $0 } }

    func advance(by seconds: Double) {
        current.withLock { $0 = $0 + seconds }
    }
}

/// One broker over the in-memory provider, a gated memory store, an in-memory ActiveSync
/// server and a hand-moved clock, with one OAuth account `work`.
struct BrokerHarness {
    let provider = MemoryProvider()
    let activeSync = MemoryActiveSyncServer()
    let store = GatedStore()
    let clock = TestClock()
    let broker: Broker

    init(configuration: Configuration = BrokerHarness.configuration()) {
        let clock = self.clock
        broker = Broker(
            configuration: configuration, oauth: provider, store: store, provisioning: activeSync,
            logger: Logger(label: "broker-test") { _ in SwiftLogNoOpLogHandler() }, clock: { clock.now() },
            sleep: { _ in
                try Task.checkCancellation()
                await Task.yield()
            })
    }

    static func configuration(tokenEndpoint: String = "https://idp.test/token") -> Configuration {
        var account = AccountConfig(name: "work")
        account.clientID = "latchkey-test"
        account.tokenEndpoint = tokenEndpoint
        account.deviceAuthorizationEndpoint = "https://idp.test/device"
        account.scopes = ["openid", "offline_access"]
        return Configuration(accounts: [account])
    }

    /// The one account `work` as an ActiveSync account: its url is an ActiveSync endpoint.
    static func activeSyncConfiguration() -> Configuration {
        var configuration = configuration()
        configuration.accounts[0].url = "https://mail.test/Microsoft-Server-ActiveSync"
        return configuration
    }

    /// Puts a refresh token and an access token with `lifetime` seconds left in the store, and
    /// has the broker read them.
    func signedIn(accessTokenLeft lifetime: Double) async throws {
        let now = clock.now()
        let token = AccessToken(value: Secret("access-0"), issuedAt: now + (-60), expiresAt: now + lifetime)
        try await store.inner.write(account: "work", kind: .refreshToken, value: Secret("refresh-0"))
        try await store.inner.write(account: "work", kind: .accessToken, value: StoredAccessToken.encode(token))
        await broker.restore()
    }

    /// Runs `body` while the broker's jobs run, then stops the broker and waits for its jobs.
    func run(_ body: @Sendable (Broker) async throws -> Void) async throws {
        let broker = self.broker
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await broker.work.run() }
            try await body(broker)
            await broker.stop()
            try await group.waitForAll()
        }
    }

    /// Waits (yielding, no clock) until `count` requests wait on the account's refresh.
    func waitForWaiters(_ count: Int) async {
        while await broker.waitingRequests(account: "work") < count { await Task.yield() }
    }
}
