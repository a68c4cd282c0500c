import LatchkeyCore
import LatchkeyHTTP
import LatchkeyOAuth
import LatchkeyStore
import Logging

/// OAuth refreshes: one per account and scope set at a time (`refreshes`), decided by the
/// scope set's `TokenMachine`, its outcome handed to every request waiting on it.
extension Broker {
    /// nil for the account's own scope set; otherwise the set, sorted, as one string.
    static func scopeKey(_ scopes: [String], configured: [String]) -> String? {
        guard !scopes.isEmpty, Set(scopes) != Set(configured) else { return nil }
        return Set(scopes).sorted().joined(separator: " ")
    }

    /// A scope set's permanent failure does not need a new sign-in of the account: its hint
    /// says what does help (the machine's own hint is the account's).
    static func scoped(_ error: LatchkeyError, _ key: String?) -> LatchkeyError {
        guard let key, error.code == .signinRequired else { return error }
        var scoped = error
        scoped.hint =
            "Ask only for scopes the account may have, or add \(key) to the account's scopes and sign in again."
        return scoped
    }

    static func scoped(_ outcome: TokenMachine.RefreshOutcome, _ key: String?) -> TokenMachine.RefreshOutcome {
        guard case .failWaiters(let error) = outcome else { return outcome }
        return .failWaiters(scoped(error, key))
    }

    /// Runs `body` on the token machine of a scope set (nil: the account's own).
    func withMachine<R>(_ name: String, _ key: String?, _ body: (inout TokenMachine) -> R) -> R? {
        guard accounts[name] != nil else { return nil }
        guard let key else { return body(&accounts[name]!.machine) }
        guard accounts[name]!.scoped[key] != nil else { return nil }
        return body(&accounts[name]!.scoped[key]!.machine)
    }

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
        if account.needsRestore && account.machine.state == .signedOut {
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
        guard let current = accounts[name] else { throw .unknownAccount(name) }  // removed by a reload meanwhile
        if let key {
            // Another scope set: its own machine, sharing the account's refresh token.
            let hasRefreshToken = current.refreshToken != nil
            if current.scoped[key] == nil {
                accounts[name]!.scoped[key] = ScopedSlot(scopes: scopes, machine: TokenMachine(account: name))
            }
            _ = withMachine(name, key) { machine in machine.restored(machine.token, hasRefreshToken: hasRefreshToken) }
        }
        switch withMachine(name, key, { $0.request(minValid: wanted, now: clock()) })! {
        case .serve(let token):
            metrics.cacheHits += 1
            return token
        case .fail(let error):
            throw key == nil ? error : Self.scoped(error, key)
        case .startRefresh:
            metrics.refreshesOnRequest += 1
            guard startRefresh(name, trigger: "request", scopeKey: key) else { throw Self.stopping }
        case .joinRefresh:
            break
        }
        let result = await withCheckedContinuation { refreshes.join(RefreshKey(account: name, scopes: key), $0) }
        return try result.get()
    }

    func runRefresh(_ name: String, trigger: String, scopeKey key: String? = nil) async {
        guard let account = accounts[name], let refreshToken = account.refreshToken else {
            finishRefresh(
                name, key,
                withMachine(name, key) {
                    $0.refreshFailed(.permanent(message: "There is no refresh token for '\(name)'."), now: clock())
                })
            return
        }
        let scopes = key.flatMap { account.scoped[$0]?.scopes } ?? account.config.scopes
        let started = clock()
        let generation = account.generation
        let flow = oauthFlow(name, account.config)
        let outcome: TokenMachine.RefreshOutcome?
        do {
            let metadata = try await self.metadata(for: name)
            let claims = account.pendingClaims
            CrashPoint.hit("refresh.before_request")
            let response = try await flow.refresh(
                metadata: metadata, refreshToken: refreshToken, scopes: scopes, claims: claims)
            CrashPoint.hit("refresh.after_answer")
            guard accounts[name]?.generation == generation else { return abandonRefresh(name, key) }
            if claims != nil && accounts[name]?.pendingClaims == claims { accounts[name]?.pendingClaims = nil }
            let now = clock()
            // Refresh tokens rotate: persist the new one before any access token is handed out.
            if let rotated = response.refreshToken {
                accounts[name]?.refreshToken = rotated
                await persist(name, .refreshToken, rotated)
            }
            noteRefresh(name, rotated: response.refreshToken != nil, now: now)
            CrashPoint.hit("refresh.after_refresh_token_stored")
            let token = response.accessToken(issuedAt: now, requestedScopes: scopes)
            // The account's own token is stored; tokens of other scope sets live in memory.
            if key == nil {
                await persist(name, .accessToken, StoredAccessToken.encode(token, session: accounts[name]?.session))
            }
            guard accounts[name]?.generation == generation else {
                // Signed out while storing: take back what this refresh wrote.
                try? await store.deleteAll(account: name)
                return abandonRefresh(name, key)
            }
            accounts[name]?.lastRefresh = now
            outcome = withMachine(name, key) { $0.refreshSucceeded(token, now: now) }
            if key == nil { rememberRefresh(name, nil) }
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
            // A scope set's failure is about that scope set only: the account stays as it is.
            let failure = flow.refreshFailure(error, scopeKey: key)
            metrics.recordRefresh(error.isTransient ? .transient : .permanent, seconds: clock() - started)
            logger.warning(
                "token refresh failed",
                metadata: [
                    "account": "\(name)", "trigger": "\(trigger)", "transient": "\(error.isTransient)",
                    "error": "\(error.description)",
                ])
            guard accounts[name]?.generation == generation else { return abandonRefresh(name, key) }
            if key == nil { rememberRefresh(name, error) }
            noteRefreshFailure(name, message: error.description)
            outcome = withMachine(name, key) {
                $0.refreshFailed(failure, now: clock(), jitter: Double.random(in: 0...1))
            }
            if case .permanent = failure, key == nil { signInNeeded(name, because: error.description) }
        }
        finishRefresh(name, key, outcome.map { Self.scoped($0, key) })
    }

    /// Starts `runRefresh` as a job of `work`; false (the refresh marked failed, nobody waiting
    /// yet) when the daemon is stopping.
    func startRefresh(_ name: String, trigger: String, scopeKey key: String? = nil) -> Bool {
        if work.start({ await self.runRefresh(name, trigger: trigger, scopeKey: key) }) { return true }
        finishRefresh(
            name, key,
            withMachine(name, key) {
                $0.refreshFailed(.transient(message: Self.stopping.message, retryAfter: 1), now: clock())
            })
        return false
    }

    /// A refresh that finished after a sign-out, a new sign-in or a reload: it changes nothing.
    func abandonRefresh(_ name: String, _ key: String?) {
        finishRefresh(
            name, key,
            .failWaiters(.signinRequired(name, "'\(name)' was signed out while its token was being refreshed.")))
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
