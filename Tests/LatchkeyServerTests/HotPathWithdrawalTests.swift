import Dispatch
import LatchkeyBroker
import LatchkeyClient
import LatchkeyCore
import LatchkeyHTTP
import LatchkeyOAuth
import LatchkeyStore
import Logging
import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing

@testable import LatchkeyServer

#if canImport(Glibc)
    import Glibc
#endif

/// When the cached hot path must not answer: after a logout, for a client `allowed_clients`
/// does not name, for a token near its end, and whatever the broker would not serve.
@Suite struct HotPathWithdrawalTests {
    /// A logout withdraws the cached answer before it answers: the next request is refused.
    @Test func aLogoutWithdrawsTheCachedAnswer() async throws {
        try await SocketAPITests.withServer(token: HotPathTests.token(expiresIn: 3600)) { client, _ in
            #expect(try client.request("GET", "/v1/accounts/work/header").status == 200)
            #expect(try client.request("DELETE", "/v1/accounts/work/credentials").status == 200)
            let after = try client.request("GET", "/v1/accounts/work/header")
            #expect(after.status == 409)
            #expect(after.json?["error"]?.stringValue == "signin_required")
        }
    }

    /// `allowed_clients` is never bypassed: such an account has no cached answer.
    @Test func allowedClientsAreCheckedOnEveryRequest() async throws {
        try await SocketAPITests.withServer(token: HotPathTests.token(expiresIn: 3600), allowedClients: ["/bin/true"]) {
            client, _ in
            let refused = try client.request("GET", "/v1/accounts/work/header")
            #expect(refused.status == 403)
            #expect(!String(decoding: refused.body, as: UTF8.self).contains("eyJhbGciOi"))
        }
    }

    /// A token with less than `min_valid` left is not served from the table.
    @Test func aTokenNearItsEndTakesTheBrokersPath() async throws {
        try await SocketAPITests.withServer(token: HotPathTests.token(expiresIn: 20)) { client, _ in
            let answer = try client.request("GET", "/v1/accounts/work/header")
            // The broker tries a refresh (its provider is unreachable here) and says so.
            #expect(answer.status != 200 || answer.json?["expires_at"] != nil)
            let metrics = try client.request("GET", "/metrics")
            #expect(
                String(decoding: metrics.body, as: UTF8.self).contains(
                    "latchkey_refreshes_started_total{trigger=\"request\"} 1\n"))
        }
    }

    /// The broker withdraws a published token whenever its own checks would no longer serve it
    /// as it is: `allowed_clients` set by a reload, the account removed, a logout.
    @Test func theBrokerWithdrawsWhatItWouldNotServe() async throws {
        var configuration = Configuration()
        var account = AccountConfig(name: "work")
        account.clientID = "latchkey-test"
        account.issuer = "https://127.0.0.1:9/"
        configuration.accounts = [account]
        let store = MemoryStore()
        let token = HotPathTests.token(expiresIn: 3600)
        try await store.write(account: "work", kind: .refreshToken, value: Secret("test-refresh-token"))
        try await store.write(account: "work", kind: .accessToken, value: StoredAccessToken.encode(token))
        let hot = HotAnswers()
        let broker = Broker(
            configuration: configuration, oauth: OAuthClient(http: HTTPClient()), store: store, publisher: hot,
            logger: Logger(label: "test"))
        #expect(hot.servable("work", now: WallClock.now()) == nil)  // nothing before the store is read
        await broker.restore()
        #expect(hot.servable("work", now: WallClock.now())?.token == token)
        #expect(hot.servable("work", now: token.expiresAt + (-30)) == nil)  // less than min_valid (60 s) left

        var guarded = configuration
        guarded.accounts[0].allowedClients = ["/bin/true"]
        await broker.reload(guarded)
        #expect(hot.servable("work", now: WallClock.now()) == nil)
        await broker.reload(configuration)
        #expect(hot.servable("work", now: WallClock.now())?.token == token)

        var longer = configuration
        longer.broker.minValid = 3700
        await broker.reload(longer)
        #expect(hot.servable("work", now: WallClock.now()) == nil)  // the new default applies at once
        await broker.reload(configuration)

        var none = configuration
        none.accounts = []
        await broker.reload(none)
        #expect(hot.servable("work", now: WallClock.now()) == nil)
        await broker.reload(configuration)  // back, but not read from the store yet
        #expect(hot.servable("work", now: WallClock.now()) == nil)
        _ = try await broker.token(account: "work")
        #expect(hot.servable("work", now: WallClock.now())?.token == token)

        try await broker.logout(account: "work")
        #expect(hot.servable("work", now: WallClock.now()) == nil)
    }
}
