import LatchkeyCore
import LatchkeyOAuth
import Testing

@testable import LatchkeyBroker

/// The OAuth side of an account as a pure value: events in (with `now` and the account's
/// generation handed in), actions out. No provider, no store, no clock.
@Suite struct OAuthAccountStateTests {
    static let start = Timestamp(secondsSinceEpoch: 1_000_000)
    static let invalidGrant = OAuthError(
        kind: .provider(code: "invalid_grant"), message: "idp.test refused the refresh token", httpStatus: 400)
    static let unavailable = OAuthError(
        kind: .httpStatus(503), message: "idp.test answered 503", retryAfter: 120, httpStatus: 503)

    /// Signed in with refresh token `refresh-0` and an access token with `left` seconds.
    static func signedIn(left: Double = 10) -> OAuthAccountState {
        var state = OAuthAccountState(account: "work")
        let token = AccessToken(
            value: Secret("access-0"), issuedAt: start + -3600, expiresAt: start + left, scopes: ["mail"])
        state.signedIn(token, refreshToken: Secret("refresh-0"), now: start + -3600)
        return state
    }

    static func answer(_ n: Int, rotated: Bool = true) -> TokenResponse {
        TokenResponse(
            accessToken: Secret("access-\(n)"), expiresIn: 3600, refreshToken: rotated ? Secret("refresh-\(n)") : nil)
    }

    /// Starts a refresh of `key`'s scope set as a request does, under generation `generation`.
    static func begin(_ state: inout OAuthAccountState, _ key: String? = nil, generation: Int = 1)
        throws -> OAuthAccountState.Refresh
    {
        let scopes = key.map { $0.split(separator: " ").map(String.init) } ?? []
        #expect(state.request(key, scopes: scopes, minValid: 60, now: start) == .startRefresh)
        return try state.beginRefresh(key, configuredScopes: ["mail"], generation: generation, now: start).get()
    }

    @Test func aRotatedRefreshTokenIsPersistedBeforeTheNewTokenIsHandedOut() throws {
        var state = Self.signedIn()
        let refresh = try Self.begin(&state)
        #expect(refresh.refreshToken.reveal() == "refresh-0" && refresh.scopes == ["mail"])
        let now = Self.start + 1
        let answered = state.refresh(.answered(Self.answer(1), now: now), of: refresh, generation: 1)
        let token = refresh.token(Self.answer(1), now: now)
        #expect(
            answered == [
                .persist(.refreshToken, Secret("refresh-1")), .noteRefresh(rotated: true, now: now),
                .persistAccessToken(token),
            ])
        // Stored in memory at once (a failed write keeps it there), but not handed out yet:
        // requests keep waiting on the refresh until the writes are done.
        #expect(state.refreshToken?.reveal() == "refresh-1")
        #expect(state.request(nil, scopes: [], minValid: 60, now: now) == .joinRefresh)
        #expect(state.machine.servableToken?.value.reveal() == "access-0")

        let stored = state.refresh(.stored(Self.answer(1), now: now), of: refresh, generation: 1)
        #expect(stored == [.remember(nil), .finish(.serveWaiters(token))])
        #expect(state.request(nil, scopes: [], minValid: 60, now: now) == .serve(token))
        #expect(state.lastRefresh == now)
    }

    @Test func anAnswerWithoutRotationKeepsTheRefreshTokenAndStoresOnlyTheAccessToken() throws {
        var state = Self.signedIn()
        let refresh = try Self.begin(&state)
        let actions = state.refresh(
            .answered(Self.answer(1, rotated: false), now: Self.start), of: refresh, generation: 1)
        #expect(!actions.contains { if case .persist = $0 { true } else { false } })
        #expect(actions.contains(.noteRefresh(rotated: false, now: Self.start)))
        #expect(state.refreshToken?.reveal() == "refresh-0")
    }

    @Test func aStaleResultChangesNothing() throws {
        var state = Self.signedIn()
        state.challenged(claims: "{\"c\":1}")
        let refresh = try Self.begin(&state, generation: 1)
        #expect(refresh.claims == "{\"c\":1}")
        let before = state
        let abandoned = OAuthAccountState.RefreshAction.abandon(
            .failWaiters(.signinRequired("work", "'work' was signed out while its token was being refreshed.")))
        // A sign-out or a new sign-in moved the account to generation 2 while the grant ran.
        #expect(state.refresh(.answered(Self.answer(1), now: Self.start), of: refresh, generation: 2) == [abandoned])
        #expect(state.refreshToken?.reveal() == "refresh-0")
        #expect(state.pendingClaims == "{\"c\":1}")
        // Stale after its writes: take back what it stored, and still change nothing; unless
        // the generation is a sign-in's that is writing its own secrets.
        let stored = OAuthAccountState.RefreshEvent.stored(Self.answer(1), now: Self.start)
        #expect(state.refresh(stored, of: refresh, generation: 2) == [.takeBack, abandoned])
        #expect(state.refresh(stored, of: refresh, generation: 2, signInSince: true) == [abandoned])
        let failed = OAuthAccountState.RefreshEvent.failed(Self.invalidGrant, now: Self.start, jitter: 0)
        #expect(state.refresh(failed, of: refresh, generation: 2) == [abandoned])
        #expect(state.lastRefresh == before.lastRefresh && state.scoped.isEmpty)
        #expect(state.machine.token == before.machine.token && state.machine.state == before.machine.state)
        #expect(state.machine.lastError == nil && state.machine.retryAt == nil && state.machine.permanentFailure == nil)
    }

    @Test func claimsAreMetOnlyByTheRefreshThatCarriedThem() throws {
        var state = Self.signedIn()
        state.challenged(claims: "first")
        let refresh = try Self.begin(&state)
        state.challenged(claims: "second")  // a newer challenge while the grant ran
        _ = state.refresh(.answered(Self.answer(1), now: Self.start), of: refresh, generation: 1)
        #expect(state.pendingClaims == "second")
        var again = Self.signedIn()
        again.challenged(claims: "first")
        let carried = try Self.begin(&again)
        _ = again.refresh(.answered(Self.answer(1), now: Self.start), of: carried, generation: 1)
        #expect(again.pendingClaims == nil)
    }

    @Test func aPermanentFailureAsksForASignIn() throws {
        var state = Self.signedIn()
        let refresh = try Self.begin(&state)
        let actions = state.refresh(
            .failed(Self.invalidGrant, now: Self.start, jitter: 0), of: refresh, generation: 1)
        let message = "Signing in to 'work' again is needed: \(Self.invalidGrant.description)."
        #expect(
            actions == [
                .remember(Self.invalidGrant), .noteFailure(Self.invalidGrant.description),
                .signInNeeded(Self.invalidGrant.description), .finish(.failWaiters(.signinRequired("work", message))),
            ])
        #expect(state.machine.state == .signinRequired && !state.canRefresh)
        guard case .fail(let error) = state.request(nil, scopes: [], minValid: 60, now: Self.start) else {
            Issue.record("a request after a permanent failure must fail")
            return
        }
        #expect(error.code == .signinRequired)
    }

    @Test func aTransientFailureBacksOffAndKeepsServingTheValidToken() throws {
        var state = Self.signedIn(left: 30)
        let refresh = try Self.begin(&state)
        let actions = state.refresh(
            .failed(Self.unavailable, now: Self.start, jitter: 0), of: refresh, generation: 1)
        #expect(actions.last == .finish(.serveWaiters(try #require(state.machine.token))))
        #expect(!actions.contains { if case .signInNeeded = $0 { true } else { false } })
        #expect(state.machine.retryAt == Self.start + 120 && state.canRefresh)
    }

    @Test func aScopedFailureLeavesTheAccountUntouched() throws {
        var state = Self.signedIn(left: 3000)
        let refresh = try Self.begin(&state, "calendar mail")
        #expect(refresh.key == "calendar mail" && refresh.scopes == ["calendar", "mail"])
        let actions = state.refresh(
            .failed(Self.invalidGrant, now: Self.start, jitter: 0), of: refresh, generation: 1)
        // Neither remembered as the account's refresh error nor a sign-in asked for.
        #expect(actions.count == 2 && actions.first == .noteFailure(Self.invalidGrant.description))
        guard case .finish(.failWaiters(let error)) = actions.last else {
            Issue.record("the scope set's waiters must fail")
            return
        }
        #expect(error.code == .signinRequired && error.hint.includes("add calendar mail"))
        #expect(state.machine.state == .valid && state.canRefresh)
        #expect(
            state.request(nil, scopes: [], minValid: 60, now: Self.start) == .serve(try #require(state.machine.token)))
        #expect(state.scoped["calendar mail"]?.machine.state == .signinRequired)
    }

    @Test func aScopedTokenLivesInMemoryOnly() throws {
        var state = Self.signedIn(left: 3000)
        let refresh = try Self.begin(&state, "calendar")
        let actions = state.refresh(.answered(Self.answer(1), now: Self.start), of: refresh, generation: 1)
        #expect(!actions.contains { if case .persistAccessToken = $0 { true } else { false } })
        #expect(actions.first == .persist(.refreshToken, Secret("refresh-1")))  // the shared refresh token rotates
        let stored = state.refresh(.stored(Self.answer(1), now: Self.start), of: refresh, generation: 1)
        #expect(stored == [.finish(.serveWaiters(refresh.token(Self.answer(1), now: Self.start)))])
        #expect(state.machine.token?.value.reveal() == "access-0")
    }

    @Test func withoutARefreshTokenThereIsNoRefreshToRun() {
        var state = OAuthAccountState(account: "work")
        let begun = state.beginRefresh(nil, configuredScopes: [], generation: 1, now: Self.start)
        guard case .failure(let failure) = begun, case .failWaiters(let error) = failure.outcome else {
            Issue.record("no refresh token: the waiters must fail")
            return
        }
        #expect(error.code == .signinRequired)
    }

    @Test func aSignOutForgetsEveryTokenButTheProvidersEndpoints() throws {
        var state = Self.signedIn()
        _ = try Self.begin(&state, "calendar")
        state.metadata = ProviderMetadata(tokenEndpoint: "https://idp.test/token")
        state.signedOut()
        #expect(state.refreshToken == nil && state.scoped.isEmpty && state.machine.state == .signedOut)
        #expect(state.metadata != nil)
    }

    @Test func aSignInWhileARefreshRunsWaitsForItNoLonger() throws {
        var state = Self.signedIn()
        let own = try Self.begin(&state)
        _ = try Self.begin(&state, "calendar")
        let token = AccessToken(value: Secret("access-9"), issuedAt: Self.start, expiresAt: Self.start + 30)
        state.signedIn(token, refreshToken: Secret("refresh-9"), now: Self.start)
        #expect(state.machine.state == .valid && !state.machine.refreshInFlight && state.scoped.isEmpty)
        // The refresh that ran is stale (the sign-in moved the generation): it changes nothing.
        #expect(state.refresh(.answered(Self.answer(1), now: Self.start), of: own, generation: 2).count == 1)
        #expect(state.refreshToken?.reveal() == "refresh-9")
        // The sign-in's token is short: the next request refreshes again instead of joining.
        #expect(state.request(nil, scopes: [], minValid: 60, now: Self.start) == .startRefresh)
    }
}
