import LatchkeyCore
import Testing

/// The sign-in forecast from what is known of a session, and the numbers read from outside.
@Suite struct SessionLifeTests {
    let t0 = Timestamp(secondsSinceEpoch: 1_700_000_000)

    func session() -> SessionLife {
        var s = SessionLife()
        s.signedInAt = t0
        s.refreshUsedAt = t0 + 3600
        return s
    }

    @Test func noKnownLimitMeansUnknown() {
        #expect(session().forecast(sessionLifetime: nil, inactivityLimit: nil, keepaliveInterval: 7 * 86_400) == nil)
        // Kept alive every 7 days, a 90-day inactivity window is no deadline.
        #expect(
            session().forecast(sessionLifetime: nil, inactivityLimit: 90 * 86_400, keepaliveInterval: 7 * 86_400) == nil
        )
    }

    @Test func aConfiguredLifetimeCountsFromTheSignIn() {
        let forecast = session().forecast(
            sessionLifetime: 7 * 86_400, inactivityLimit: 90 * 86_400, keepaliveInterval: 7 * 86_400)
        #expect(forecast?.by == t0 + 7 * 86_400)
        #expect(forecast?.reason.contains("7 d") == true)
        #expect(forecast?.reason.contains("session_lifetime") == true)
    }

    @Test func aLearntLifetimeCountsWhenNoneIsConfigured() {
        var s = session()
        s.learntLifetime = 43_200
        #expect(s.forecast(sessionLifetime: nil, inactivityLimit: nil, keepaliveInterval: 86_400)?.by == t0 + 43_200)
        #expect(s.forecast(sessionLifetime: 86_400, inactivityLimit: nil, keepaliveInterval: 86_400)?.by == t0 + 86_400)
    }

    @Test func inactivityIsADeadlineOnlyWhenTheKeepAliveComesTooLate() {
        let forecast = session().forecast(sessionLifetime: nil, inactivityLimit: 86_400, keepaliveInterval: 7 * 86_400)
        #expect(forecast?.by == t0 + 3600 + 86_400)
    }

    @Test func theStoredFormRoundTripsAndHostileValuesAreUnknown() throws {
        var s = session()
        s.learntLifetime = 600
        s.warnedFor = t0 + 10
        #expect(SessionLife(json: s.json) == s)
        let hostile = try JSONValue.parse(
            #"{"signed_in_at":-1,"refresh_used_at":1e300,"learnt_lifetime":"x","signed_in_from_auth_time":3}"#)
        #expect(SessionLife(json: hostile) == SessionLife())
    }

    @Test func theLifetimeStatedByAADSTS70043IsRead() {
        let message =
            "invalid_grant: AADSTS70043: The refresh token has expired or is invalid due to sign-in frequency checks by conditional access. The token was issued on 12/05/2026 08:00:00 and the maximum allowed lifetime for this request is 43200."
        #expect(SessionLife.statedLifetime(in: message) == 43_200)
        #expect(SessionLife.statedLifetime(in: "AADSTS70043: lifetime for this request is 99999999999999999999") == nil)
        #expect(SessionLife.statedLifetime(in: "AADSTS70043: no number here") == nil)
        #expect(SessionLife.statedLifetime(in: "AADSTS700082: lifetime for this request is 60") == nil)
    }

    @Test func authTimeIsReadFromAnIDTokenAndNothingElse() {
        let payload = Base64.encodeURL(Array(#"{"auth_time":1700000000,"sub":"x"}"#.utf8))
        #expect(SessionLife.authTime(idToken: "e30.\(payload).sig") == t0)
        #expect(
            SessionLife.authTime(idToken: "e30.\(Base64.encodeURL(Array(#"{"auth_time":"soon"}"#.utf8))).sig") == nil)
        #expect(SessionLife.authTime(idToken: "not a jwt") == nil)
    }

    @Test func aDeadlineThatMovedByLessThanAMinuteWasWarnedOfAlready() {
        var session = SessionLife()
        let deadline = Timestamp(secondsSinceEpoch: 1_800_018_000.2)
        #expect(!session.hasWarned(of: deadline))
        session.warnedFor = deadline
        #expect(session.hasWarned(of: Timestamp(secondsSinceEpoch: 1_800_018_000.7)))
        #expect(session.hasWarned(of: Timestamp(secondsSinceEpoch: 1_800_017_999.4)))
        #expect(!session.hasWarned(of: Timestamp(secondsSinceEpoch: 1_800_018_090)))
    }
}
