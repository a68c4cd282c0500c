import LatchkeyCore
import LatchkeyHTTP
import LatchkeyOAuth
import Synchronization

/// An OAuth provider in memory, in the real client's place: it answers the broker's exchanges
/// from what the test scripted, counts them, and can hold an answer at a `Gate` until the test
/// lets it go. No network, no clock.
final class MemoryProvider: OAuthExchange {
    struct Counts: Sendable {
        var refreshes = 0
        var polls = 0
        var deviceAuthorizations = 0
        /// The token endpoints asked, in order.
        var tokenEndpoints: [String] = []
        /// The refresh tokens presented, in order.
        var refreshTokens: [String] = []
    }

    let http = HTTPClient()
    /// Holds every refresh answer while closed.
    let refreshGate = Gate()
    private let counts = Mutex(Counts())
    /// Scripted refresh answers, used in order; when none is left, a new token is issued.
    private let refreshScript = Mutex<[Result<TokenResponse, OAuthError>]>([])
    private let issued = Mutex(0)
    /// Scripted device-flow poll answers, used in order; when none is left, the poll is granted.
    private let pollScript = Mutex<[Result<DevicePoll, OAuthError>]>([])

    var seen: Counts { counts.withLock { $0 } }

    /// Answers the next refreshes with `answers`, in order.
    func script(_ answers: [Result<TokenResponse, OAuthError>]) {
        refreshScript.withLock { $0 += answers }
    }

    /// Answers the next device-flow polls with `answers`, in order.
    func scriptPolls(_ answers: [Result<DevicePoll, OAuthError>]) {
        pollScript.withLock { $0 += answers }
    }

    /// A new access token and a rotated refresh token, numbered.
    func newTokens(lifetime: Double = 3600) -> TokenResponse {
        let n = issued.withLock { value -> Int in
            value += 1
            return value
        }
        return TokenResponse(
            accessToken: Secret("access-\(n)"), expiresIn: lifetime, refreshToken: Secret("refresh-\(n)"))
    }

    func discover(issuer: String, options: HTTPOptions) async throws(OAuthError) -> ProviderMetadata {
        ProviderMetadata(tokenEndpoint: issuer + "/token")
    }

    func startDeviceAuthorization(
        endpoint: String, clientID: String, scopes: [String], claims: String?, options: HTTPOptions
    ) async throws(OAuthError) -> DeviceAuthorization {
        counts.withLock { $0.deviceAuthorizations += 1 }
        return try DeviceAuthorization(
            json: .object([
                ("device_code", .string("device-code-1")), ("user_code", .string("ABCD-EFGH")),
                ("verification_uri", .string("https://idp.test/device")), ("expires_in", .number(600)),
                ("interval", .number(0)),
            ]))
    }

    /// The scripted answers, then the person approves: the poll is granted.
    func pollDeviceAuthorization(
        tokenEndpoint: String, clientID: String, deviceCode: Secret<String>, options: HTTPOptions
    ) async throws(OAuthError) -> DevicePoll {
        counts.withLock { $0.polls += 1 }
        switch pollScript.withLock({ $0.isEmpty ? nil : $0.removeFirst() }) {
        case .success(let answer): return answer
        case .failure(let error): throw error
        case nil: return .granted(newTokens())
        }
    }

    func exchangeCode(
        tokenEndpoint: String, clientID: String, code: Secret<String>, request: AuthorizationRequest,
        options: HTTPOptions
    ) async throws(OAuthError) -> TokenResponse {
        newTokens()
    }

    func refresh(
        tokenEndpoint: String, clientID: String, refreshToken: Secret<String>, scopes: [String], claims: String?,
        options: HTTPOptions
    ) async throws(OAuthError) -> TokenResponse {
        counts.withLock {
            $0.refreshes += 1
            $0.tokenEndpoints.append(tokenEndpoint)
            $0.refreshTokens.append(refreshToken.reveal())
        }
        await refreshGate.pass()
        let scripted = refreshScript.withLock { $0.isEmpty ? nil : $0.removeFirst() }
        switch scripted {
        case .success(let answer): return answer
        case .failure(let error): throw error
        case nil: return newTokens()
        }
    }

    func revoke(endpoint: String, clientID: String, token: Secret<String>, hint: String, options: HTTPOptions)
        async throws(OAuthError)
    {}
}
