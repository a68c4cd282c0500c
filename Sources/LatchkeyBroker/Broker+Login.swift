import LatchkeyCore
import LatchkeyCrypto
import LatchkeyHTTP
import LatchkeyOAuth
import LatchkeyStore
import Logging

extension Broker {
    /// Starts a sign-in, or joins the one running for the account. The stream replays the
    /// current prompt to a late joiner and ends after `done` or `error`. When every watcher
    /// has gone (the person pressed Ctrl-C), the sign-in is cancelled. The account's
    /// `allowed_clients` are enforced against `client`.
    public func login(account name: String, method: String? = nil, client: ClientIdentity? = nil) throws(LatchkeyError)
        -> AsyncStream<LoginEvent>
    {
        guard let account = accounts[name] else { throw .unknownAccount(name) }
        try authorize(name, account.config, client)
        let browser = try Self.usesBrowser(account.config, asked: method)
        let session: LoginSession
        if let running = account.login {
            session = running
        } else {
            session = LoginSession(id: Crypto.sessionID(), account: name)
            accounts[name]!.login = session
            accounts[name]!.oauth.machine.signInStarted()
            sessions[session.id] = session
            let id = session.id
            let job: BackgroundWork.Job
            if account.config.method == .auto {
                job = { await self.runAutoLogin(name, sessionID: id, browser: method == "browser") }
            } else if account.config.method == .kerberos {
                job = { await self.runKerberosLogin(name, sessionID: id) }
            } else if account.config.method == .basic {
                job = { await self.runBasicLogin(name, sessionID: id) }
            } else if browser {
                job = { await self.runOAuthLogin(name, sessionID: id, browser: true) }
            } else {
                job = { await self.runOAuthLogin(name, sessionID: id, browser: false) }
            }
            guard let running = work.startCancellable(job) else {
                endLogin(name, session, .error(Self.stopping))
                throw Self.stopping
            }
            session.job = running
            let flow =
                account.config.method == .oauth ? (browser ? "browser" : "device") : account.config.method.rawValue
            logger.info("sign-in started", metadata: ["account": "\(name)", "flow": "\(flow)"])
        }
        let (stream, continuation) = AsyncStream<LoginEvent>.makeStream(bufferingPolicy: .bufferingNewest(32))
        let id = session.nextSubscriber
        session.nextSubscriber += 1
        session.subscribers[id] = continuation
        if let prompt = session.lastPrompt { continuation.yield(prompt) }
        let sessionID = session.id
        continuation.onTermination = { [weak self] _ in
            guard let self else { return }
            self.work.start { await self.unsubscribe(name, sessionID: sessionID, subscriber: id) }
        }
        return stream
    }

    /// `method = "auto"`: discover the method, then sign in with it.
    func runAutoLogin(_ name: String, sessionID: String, browser: Bool) async {
        guard let session = sessions[sessionID] else { return }
        do throws(LatchkeyError) {
            try await resolveAutoMethod(name)
        } catch {
            logger.warning("sign-in failed", metadata: ["account": "\(name)", "error": "\(error.message)"])
            endLogin(name, session, .error(error))
            return
        }
        switch accounts[name]?.config.method {
        case .kerberos: await runKerberosLogin(name, sessionID: sessionID)
        case .basic: await runBasicLogin(name, sessionID: sessionID)
        case .oauth:
            await runOAuthLogin(name, sessionID: sessionID, browser: browser || accounts[name]?.config.flow == .browser)
        default:
            endLogin(
                name, session,
                .error(
                    LatchkeyError(
                        .configuration, "'\(name)' was changed while signing in.",
                        hint: "Run `latchkey login \(name)` again.")))
        }
    }

    private func unsubscribe(_ name: String, sessionID: String, subscriber: Int) {
        guard let session = sessions[sessionID] else { return }
        session.subscribers[subscriber] = nil
        if session.subscribers.isEmpty {
            logger.info("sign-in cancelled: nobody is watching it any more", metadata: ["account": "\(name)"])
            session.cancel()
        }
    }

    func emit(_ event: LoginEvent, _ session: LoginSession) {
        switch event {
        case .devicePrompt, .browserPrompt, .question: session.lastPrompt = event
        default: break
        }
        for continuation in session.subscribers.values {
            continuation.yield(event)
            if event.isFinal { continuation.finish() }
        }
    }

    func endLogin(_ name: String, _ session: LoginSession, _ event: LoginEvent) {
        rememberSignIn(name, event)
        if accounts[name]?.login === session {
            accounts[name]?.login = nil
            accounts[name]?.oauth.machine.signInFinished()
        }
        emit(event, session)
        session.subscribers.removeAll()
        accounts[name]?.kerberos.scheduleCheck(at: nil)  // a new ticket: look at it now
        wakeScheduler()
        sessions[session.id] = nil
    }

    /// The person's answers to the question a sign-in is waiting on. The account's
    /// `allowed_clients` are enforced against `client`.
    public func answer(login id: String, answers: [Secret<String>], client: ClientIdentity? = nil) throws(LatchkeyError)
    {
        guard let session = sessions[id] else {
            throw LatchkeyError(
                .badRequest, "There is no running sign-in \(id).",
                hint: "It may have finished or been cancelled; run `latchkey login` again.")
        }
        try authorize(login: session, client)
        guard let relay = session.relay, relay.deliver(answers) else {
            throw LatchkeyError(.badRequest, "The sign-in \(id) is not waiting for an answer.")
        }
        session.lastPrompt = nil
    }

    /// The OAuth flow of an account, over its current configuration.
    func oauthFlow(_ name: String, _ config: AccountConfig) -> OAuthFlow {
        OAuthFlow(
            name: name, config: config, exchange: oauth, options: httpOptions(config), logger: logger, clock: clock,
            sleep: sleep)
    }

    /// An OAuth sign-in (`OAuthFlow`: the browser's or the device flow): its prompts go to the
    /// session's watchers, its tokens through `completeSignIn`.
    func runOAuthLogin(_ name: String, sessionID: String, browser: Bool) async {
        guard let config = accounts[name]?.config, let session = sessions[sessionID] else { return }
        let kind = browser ? "browser" : "device"
        errorMemory.attempt(name, flow: kind)
        let flow = oauthFlow(name, config)
        let failure: LatchkeyError
        do throws(OAuthFlow.SignInFailure) {
            let metadata = try await OAuthFlow.atProvider { () async throws(OAuthError) in
                try await self.metadata(for: name)
            }
            let claims = accounts[name]?.oauth.pendingClaims
            let show: @Sendable (LoginEvent) async -> Void = { event in await self.show(event, sessionID: sessionID) }
            let response =
                browser
                ? try await flow.browserSignIn(metadata: metadata, claims: claims, show: show)
                : try await flow.deviceSignIn(metadata: metadata, claims: claims, show: show)
            return await completeSignIn(name, session, response, flow: kind)
        } catch {
            switch error {
            case .provider(let error): failure = latchkeyError(name, error)
            case .failed(let error): failure = error
            case .cancelled:
                // The person pressed Ctrl-C or every watcher went away.
                logger.info("sign-in cancelled", metadata: ["account": "\(name)"])
                return endLogin(name, session, .error(flow.cancelled))
            }
        }
        logger.warning(
            "sign-in failed", metadata: ["account": "\(name)", "flow": "\(kind)", "error": "\(failure.message)"])
        endLogin(name, session, .error(failure))
    }

    /// A prompt of a running sign-in, for its watchers (nothing once it has ended).
    private func show(_ event: LoginEvent, sessionID: String) {
        guard let session = sessions[sessionID] else { return }
        emit(event, session)
    }

    /// Keeps what a sign-in brought (the rotated refresh token first) and ends the session.
    func completeSignIn(_ name: String, _ session: LoginSession, _ response: TokenResponse, flow: String) async {
        // Signed out (or removed) while the person was signing in: keep nothing.
        guard let config = accounts[name]?.config else {
            return endLogin(name, session, .error(Self.signedOutDuringSignIn(name)))
        }
        let now = clock()
        let token = response.accessToken(issuedAt: now, requestedScopes: config.scopes)
        // The refresh token first: an access token is only kept with what renews it.
        let life = Self.signInSession(idToken: response.idToken, now: now)
        var writes: [(kind: ItemKind, value: Secret<String>)] =
            response.refreshToken.map { [(.refreshToken, $0)] } ?? []
        writes.append((.accessToken, StoredAccessToken.encode(token, session: life)))
        let committed = await commitSignIn(name, session, writes: writes) { account in
            account.oauth.signedIn(token, refreshToken: response.refreshToken, now: now)
            account.session = life
        }
        guard committed else { return endLogin(name, session, .error(Self.signedOutDuringSignIn(name))) }
        logger.info(
            "signed in",
            metadata: [
                "account": "\(name)", "flow": "\(flow)", "expires_in": "\(CheckedNumber.describe(response.expiresIn))",
            ])
        endLogin(name, session, .done(account: name, expiresAt: token.expiresAt))
    }

    /// Whether an OAuth sign-in uses the browser: `--method browser`, or `flow = "browser"`.
    static func usesBrowser(_ config: AccountConfig, asked: String?) throws(LatchkeyError) -> Bool {
        guard let asked else { return config.method == .oauth && config.flow == .browser }
        switch (config.method, asked) {
        case (.oauth, "browser"), (.auto, "browser"): return true
        case (.oauth, "device"), (.auto, "device"): return false
        case (let method, let asked) where method.rawValue == asked: return false
        default:
            throw LatchkeyError(
                .badRequest,
                "'\(config.name)' uses the \(config.method.rawValue) method; --method \(asked) does not apply to it.",
                hint: config.method == .oauth ? "Use --method device or --method browser." : "Leave out --method.")
        }
    }

    /// An OAuth failure in the person's words, with what to do.
    func latchkeyError(_ name: String, _ error: OAuthError) -> LatchkeyError {
        errorMemory.noteProvider(name, error)
        switch error.code {
        case "access_denied", "authorization_declined":
            return LatchkeyError(
                .signinRequired, "The sign-in for '\(name)' was declined at the provider.",
                hint: "Run `latchkey login \(name)` again and approve the request.")
        case "expired_token":
            return LatchkeyError(
                .signinRequired, "The sign-in code for '\(name)' expired before the sign-in was completed.",
                hint: "Run `latchkey login \(name)` again and finish within the time shown.")
        default:
            break
        }
        // Conditional Access refusing the device-code flow (AADSTS53003 blocked by policy,
        // 50097 device authentication required, 530033/530035 device-code flow blocked):
        // the browser flow can satisfy what the device flow cannot.
        if !Set(error.errorCodes).isDisjoint(with: [53003, 50097, 530033, 530035]) {
            return LatchkeyError(
                .signinRequired, "The tenant's policy refuses this sign-in for '\(name)': \(error.description).",
                hint:
                    "Sign in with the browser instead, on a device the policy accepts: latchkey login \(name) --method browser"
            )
        }
        if error.isTransient {
            return LatchkeyError(
                .providerUnavailable, "The identity provider of '\(name)' cannot be reached: \(error.description).",
                hint: "Check the network and the provider's status; try again later.",
                retryAfter: error.retryAfter.flatMap { Int(clamping: $0, to: 1...Int(TokenMachine.maximumRetryAfter)) }
                    ?? 30)
        }
        return LatchkeyError(
            .signinRequired, "Signing in to '\(name)' failed: \(error.description).",
            hint: ProviderErrors.remedy(code: error.code ?? "", errorCodes: error.errorCodes, account: name))
    }
}
