import LatchkeyCore
import LatchkeyHTTP
import LatchkeyOAuth
import Logging

/// The OAuth method for one account: the device sign-in (RFC 8628) and the browser's (RFC 8252,
/// below) from the first request to the granted tokens, and the refresh grant. What outlives a
/// call is the account's `OAuthAccountState` (its `TokenMachine`s, scope-set slots, refresh
/// token, pending claims, provider metadata), a pure value whose events decide what a refresh's
/// answer or failure means (`OAuthAccountState+Refresh.swift`). The broker routes to both: it
/// runs this flow's exchanges, hands their results to the state with the account's generation,
/// and carries out the actions that come back; it keeps the one single flight of refreshes
/// (`refreshes`) and the one `commitSignIn` through which a sign-in's tokens become the
/// account's (a logout or a newer sign-in makes it stale).
///
/// A value made per sign-in or refresh from the account's current configuration; it runs off
/// the broker's actor and touches no account, so nothing it does can undo a logout.
struct OAuthFlow: Sendable {
    let name: String
    let config: AccountConfig
    let exchange: any OAuthExchange
    let options: HTTPOptions
    let logger: Logger
    let clock: @Sendable () -> Timestamp
    let sleep: @Sendable (Double) async throws -> Void

    /// Why a device sign-in ended without tokens.
    enum SignInFailure: Error {
        /// The provider's answer (the broker words it and remembers it for `diagnose`).
        case provider(OAuthError)
        case failed(LatchkeyError)
        /// The person pressed Ctrl-C, every watcher went away, or the daemon stops.
        case cancelled
    }

    /// How many failed polls in a row (no answer from the provider) the device flow sits out.
    static let maximumTransientPolls = 20

    /// RFC 8628: asks for a device code, shows it (`show`), polls at the provider's interval
    /// (5 s more after each `slow_down`, doubled up to 60 s after a failed connection, §3.5),
    /// and ends on the grant, a refusal, `expired_token` or the code's deadline.
    func deviceSignIn(
        metadata: ProviderMetadata, claims: String?, show: @Sendable (LoginEvent) async -> Void
    ) async throws(SignInFailure) -> TokenResponse {
        guard let endpoint = metadata.deviceAuthorizationEndpoint else {
            throw .failed(
                LatchkeyError(
                    .configuration, "The provider of '\(name)' offers no device authorization endpoint.",
                    hint: "Set device_authorization_endpoint for the account, or use the browser flow."))
        }
        let device = try await Self.atProvider { () async throws(OAuthError) in
            try await exchange.startDeviceAuthorization(
                endpoint: endpoint, clientID: config.clientID ?? "", scopes: config.scopes, claims: claims,
                options: options)
        }
        let deadline = clock() + device.expiresIn
        await show(
            .devicePrompt(
                .init(
                    verificationURI: device.verificationURI, verificationURIComplete: device.verificationURIComplete,
                    userCode: device.userCode, expiresIn: Int(clamping: device.expiresIn) ?? 0, message: device.message)
            ))
        var interval = device.interval
        var transientFailures = 0
        while true {
            do { try await sleep(interval) } catch { throw .cancelled }
            guard clock() < deadline else { throw .failed(codeExpired) }
            let poll: DevicePoll
            do {
                poll = try await exchange.pollDeviceAuthorization(
                    tokenEndpoint: metadata.tokenEndpoint, clientID: config.clientID ?? "",
                    deviceCode: device.deviceCode,
                    options: options)
            } catch  where error.isTransient && error.code == nil && transientFailures < Self.maximumTransientPolls {
                // RFC 8628 §3.5: on a failed connection, back off and keep polling.
                transientFailures += 1
                interval = min(interval * 2, 60)
                logger.warning(
                    "device poll failed; retrying",
                    metadata: [
                        "account": "\(name)", "error": "\(error.description)",
                        "interval_s": "\(CheckedNumber.describe(interval))",
                    ])
                continue
            } catch {
                throw .provider(error)
            }
            switch poll {
            case .pending:
                await show(.waiting(secondsLeft: Int(clamping: deadline - clock(), to: 0...Int.max) ?? 0))
            case .slowDown:
                interval += 5
                logger.info(
                    "provider asked to slow down",
                    metadata: ["account": "\(name)", "interval_s": "\(CheckedNumber.describe(interval))"])
            case .granted(let response):
                return response
            }
        }
    }

    /// Runs one exchange with the provider (on the caller's actor); its failure is the
    /// provider's answer.
    static func atProvider<T>(
        isolation: isolated (any Actor)? = #isolation, _ exchange: () async throws(OAuthError) -> T
    ) async throws(SignInFailure) -> T {
        do {
            return try await exchange()
        } catch {
            throw .provider(error)
        }
    }

    var codeExpired: LatchkeyError {
        LatchkeyError(
            .signinRequired, "The sign-in code for '\(name)' expired before the sign-in was completed.",
            hint: "Run `latchkey login \(name)` again and finish within the time shown.")
    }

    var cancelled: LatchkeyError {
        LatchkeyError(
            .signinRequired, "The sign-in for '\(name)' was cancelled.",
            hint: "Run `latchkey login \(name)` to try again.")
    }

    /// The refresh_token grant for `scopes` (the account's own, or another scope set's).
    func refresh(metadata: ProviderMetadata, refreshToken: Secret<String>, scopes: [String], claims: String?)
        async throws(OAuthError) -> TokenResponse
    {
        try await exchange.refresh(
            tokenEndpoint: metadata.tokenEndpoint, clientID: config.clientID ?? "", refreshToken: refreshToken,
            scopes: scopes,
            claims: claims, options: options)
    }
}

extension OAuthFlow {
    /// How long the loopback listener waits for the browser to come back, in seconds.
    static let browserTimeout = 600

    /// Authorization code with PKCE S256 and a loopback redirect (RFC 8252): the person opens
    /// the listener's start page (the client runs xdg-open, or prints it), which redirects to
    /// the provider; they sign in with MFA, and the browser comes back to 127.0.0.1:PORT with
    /// the code, which is traded with the verifier.
    func browserSignIn(
        metadata: ProviderMetadata, claims: String?, show: @Sendable (LoginEvent) async -> Void
    ) async throws(SignInFailure) -> TokenResponse {
        guard let endpoint = metadata.authorizationEndpoint else {
            throw .failed(
                LatchkeyError(
                    .configuration,
                    "The provider of '\(name)' offers no authorization endpoint, so the browser sign-in cannot work.",
                    hint: "Set authorization_endpoint for the account, or use the device flow."))
        }
        let (logger, name) = (self.logger, self.name)
        let listener = try await Self.atProvider { () async throws(OAuthError) in
            try LoopbackRedirect { uid in
                logger.warning(
                    "browser sign-in: refused a connection of another user",
                    metadata: ["account": "\(name)", "uid": "\(uid.map(String.init) ?? "unknown")"])
            }
        }
        let request = AuthorizationRequest(
            authorizationEndpoint: endpoint, clientID: config.clientID ?? "", redirectURI: listener.redirectURI,
            scopes: config.scopes, claims: claims)
        // Only the start page leaves the daemon: `state` and the PKCE challenge reach the
        // browser through its redirect, never through an argv other users can read.
        await show(
            .browserPrompt(
                .init(startURL: listener.startURL, redirectURI: listener.redirectURI, expiresIn: Self.browserTimeout)))
        logger.info(
            "waiting for the browser", metadata: ["account": "\(name)", "redirect_uri": "\(listener.redirectURI)"])
        let code = try await Self.atProvider { () async throws(OAuthError) in
            try await listener.waitForCode(
                authorizationURL: request.url, state: request.state, timeout: Double(Self.browserTimeout))
        }
        if Task.isCancelled { throw .cancelled }
        return try await Self.atProvider { () async throws(OAuthError) in
            try await exchange.exchangeCode(
                tokenEndpoint: metadata.tokenEndpoint, clientID: config.clientID ?? "", code: code, request: request,
                options: options)
        }
    }
}
