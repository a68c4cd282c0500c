import LatchkeyCore
import LatchkeyHTTP
import LatchkeyOAuth
import LatchkeyStore
import Logging

/// OAuth refreshes: one per account and scope set at a time (`refreshes`), decided by the
/// account's `OAuthAccountState`, its outcome handed to every request waiting on it. The broker
/// looks the account up, runs the grant through `OAuthFlow`, hands the result to the state as
/// an event with the account's generation, and carries out the actions it returns.
extension Broker {
    func currentToken(_ name: String, scopeKey key: String?, scopes: [String], minValid: Double?)
        async throws(LatchkeyError) -> AccessToken
    {
        guard let account = accounts[name] else { throw .unknownAccount(name) }
        guard account.config.method == .oauth else {
            throw LatchkeyError(
                .configuration,
                "'\(name)' uses the \(account.config.method.rawValue) method, which hands out no OAuth access token.",
                hint: "Use `latchkey header \(name)` for its Authorization header.")
        }
        if account.needsRestore && account.oauth.machine.state == .signedOut {
            await restoreAccount(name)
            if let error = accounts[name]?.storeError, accounts[name]?.needsRestore == true {
                throw storeError(name, error)
            }
        }
        if let retry = accounts[name]?.nextWriteRetry, clock() >= retry {
            accounts[name]?.nextWriteRetry = nil
            work.start { await self.flushPendingWrites(name) }
        }
        let wanted = minValid ?? account.config.minValid ?? settings.minValid
        guard accounts[name] != nil else { throw .unknownAccount(name) }  // removed by a reload meanwhile
        switch accounts[name]!.oauth.request(key, scopes: scopes, minValid: wanted, now: clock()) {
        case .serve(let token):
            metrics.cacheHits += 1
            return token
        case .fail(let error):
            throw error
        case .startRefresh:
            metrics.refreshesOnRequest += 1
            guard startRefresh(name, trigger: "request", scopeKey: key) else { throw Self.stopping }
        case .joinRefresh:
            break
        }
        let result = await withCheckedContinuation { refreshes.join(RefreshKey(account: name, scopes: key), $0) }
        return try result.get()
    }

    func runRefresh(_ name: String, trigger: String, scopeKey key: String? = nil, generation: Int?) async {
        guard let account = accounts[name] else { return finishRefresh(name, key, nil) }
        guard account.generation == generation else { return wakeScheduler() }
        let begun = accounts[name]!.oauth.beginRefresh(
            key, configuredScopes: account.config.scopes, generation: account.generation, now: clock())
        let refresh: OAuthAccountState.Refresh
        switch begun {
        case .success(let started): refresh = started
        case .failure(let failure): return finishRefresh(name, key, failure.outcome)
        }
        let started = clock()
        let flow = oauthFlow(name, account.config)
        do {
            let metadata = try await self.metadata(for: name)
            CrashPoint.hit("refresh.before_request")
            let response = try await flow.refresh(
                metadata: metadata, refreshToken: refresh.refreshToken, scopes: refresh.scopes, claims: refresh.claims)
            CrashPoint.hit("refresh.after_answer")
            let now = clock()
            guard await perform(.answered(response, now: now), of: refresh, name) else { return }
            guard await perform(.stored(response, now: now), of: refresh, name) else { return }
            metrics.recordRefresh(.ok, seconds: now - started)
            logger.info(
                "token refreshed",
                metadata: [
                    "account": "\(name)", "trigger": "\(trigger)",
                    "expires_in": "\(CheckedNumber.describe(response.expiresIn))",
                    "rotated": "\(response.refreshToken != nil)",
                    "duration_ms": "\(Int(clamping: (now - started) * 1000) ?? 0)",
                ])
        } catch {
            metrics.recordRefresh(error.isTransient ? .transient : .permanent, seconds: clock() - started)
            logger.warning(
                "token refresh failed",
                metadata: [
                    "account": "\(name)", "trigger": "\(trigger)", "transient": "\(error.isTransient)",
                    "error": "\(error.description)",
                ])
            let failed = OAuthAccountState.RefreshEvent.failed(error, now: clock(), jitter: Double.random(in: 0...1))
            await perform(failed, of: refresh, name)
        }
    }

    /// Hands `event` to the account's OAuth state and carries out the actions it returns, in
    /// order. False when the refresh went stale (a sign-out, a new sign-in or a reload overtook
    /// it, or the account is gone): its waiters were told, and nothing else is to be done.
    @discardableResult
    private func perform(
        _ event: OAuthAccountState.RefreshEvent, of refresh: OAuthAccountState.Refresh, _ name: String
    ) async -> Bool {
        guard let account = accounts[name],
            let actions = accounts[name]?.oauth.refresh(
                event, of: refresh, generation: account.generation,
                signInSince: account.signInGeneration == account.generation)
        else {
            finishRefresh(name, refresh.key, nil)
            return false
        }
        for action in actions {
            switch action {
            case .persist(let kind, let value):
                await persist(name, kind, value)
            case .persistAccessToken(let token):
                await persist(name, .accessToken, StoredAccessToken.encode(token, session: accounts[name]?.session))
            case .noteRefresh(let rotated, let now):
                noteRefresh(name, rotated: rotated, now: now)
                CrashPoint.hit("refresh.after_refresh_token_stored")
            case .noteFailure(let message):
                noteRefreshFailure(name, message: message)
            case .remember(let error):
                rememberRefresh(name, error)
            case .signInNeeded(let why):
                signInNeeded(name, because: why)
            case .takeBack:
                // Signed out while storing: take back what this refresh wrote.
                try? await store.deleteAll(account: name)
            case .finish(let outcome):
                finishRefresh(name, refresh.key, outcome)
            case .abandon:
                // Whoever made it stale (a sign-out, a sign-in, a reload) answered its waiters
                // then; any now waiting on this key wait on a newer refresh.
                wakeScheduler()
                return false
            }
        }
        return true
    }

    /// Starts `runRefresh` as a job of `work`; false (the refresh marked failed, nobody waiting
    /// yet) when the daemon is stopping.
    func startRefresh(_ name: String, trigger: String, scopeKey key: String? = nil) -> Bool {
        // The refresh belongs to the account as it is now: a sign-out, a sign-in or a reload
        // before the job runs makes it stale (whoever did answered its waiters then).
        let generation = accounts[name]?.generation
        if work.start({ await self.runRefresh(name, trigger: trigger, scopeKey: key, generation: generation) }) {
            return true
        }
        let stopping = TokenMachine.Failure.transient(message: Self.stopping.message, retryAfter: 1)
        finishRefresh(name, key, accounts[name]?.oauth.withMachine(key) { $0.refreshFailed(stopping, now: clock()) })
        return false
    }

    /// Fails every request waiting on any of the account's refreshes (sign-out, removal).
    func failAllWaiters(_ name: String, _ outcome: TokenMachine.RefreshOutcome?) {
        refreshes.finishAll(where: { $0.account == name }, Self.result(name, outcome))
    }

    /// Hands a refresh's outcome to the requests waiting on it.
    func finishRefresh(_ name: String, _ key: String?, _ outcome: TokenMachine.RefreshOutcome?) {
        wakeScheduler()
        refreshes.finish(RefreshKey(account: name, scopes: key), Self.result(name, outcome))
    }

    static func result(_ name: String, _ outcome: TokenMachine.RefreshOutcome?) -> Result<AccessToken, LatchkeyError> {
        switch outcome {
        case .serveWaiters(let token): .success(token)
        case .failWaiters(let error): .failure(error)
        case nil: .failure(.unknownAccount(name))
        }
    }
}
