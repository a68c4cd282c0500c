#if canImport(Glibc)
import Glibc
#endif
import LatchkeyCore
import LatchkeyHTTP
import LatchkeyOAuth
import LatchkeyNotify
import LatchkeyStore
import Logging

/// The one owner of accounts, tokens and sign-ins. Handlers ask it; it answers from memory
/// when it can and talks to providers when it must, one refresh per account at a time.
public actor Broker {
    struct Account {
        var config: AccountConfig { didSet { publish() } }
        var machine: TokenMachine { didSet { publish() } }
        var refreshToken: Secret<String>?
        var metadata: ProviderMetadata?
        var login: LoginSession?
        var lastRefresh: Timestamp?
        /// A client's last request for the account (use-aware refresh, `RefreshSchedule`).
        var lastUsed: Timestamp?
        /// What is known of the session's life, stored with the access token (Broker+Session.swift).
        var session = SessionLife()
        /// The store could not be read at start-up: read it when a client first asks.
        var needsRestore = false { didSet { publish() } }
        var storeError: StoreError?
        /// Secrets whose store write failed: kept in memory and written again later.
        var pendingWrites: [ItemKind: Secret<String>] = [:] { didSet { publish() } }
        var nextWriteRetry: Timestamp?
        /// Spreads proactive refreshes of many accounts (0...1, drawn once).
        var jitter = Double.random(in: 0...1)
        /// Kerberos and Basic accounts: the ticket (or kept password) as last seen.
        var kerberos = TicketMachine()
        /// When the person was last told that this account needs a sign-in.
        var notifiedAt: Timestamp?
        /// Changes at every sign-in and sign-out: a refresh or sign-in that started under an
        /// older generation stores nothing when it finishes (a logout must stay a logout).
        var generation = 0
        /// The generation the last committed sign-in took (`commitSignIn`).
        var lastSignIn = 0
        /// Tokens for scope sets other than the account's own (`--scope`), each with its own
        /// life and single flight; they share the account's refresh token. Kept in memory only.
        var scoped: [String: ScopedSlot] = [:]
        /// Claims a service asked for (`insufficient_claims`): sent with every refresh and
        /// sign-in until one succeeds.
        var pendingClaims: String?
        /// Told of every change to what this account would hand out from memory.
        var publisher: (any TokenPublisher)?

        init(config: AccountConfig, machine: TokenMachine, publisher: (any TokenPublisher)?) {
            self.config = config
            self.machine = machine
            self.publisher = publisher
        }

        /// Publishes the account's own token while `currentToken` would serve it without any
        /// other step, and withdraws it otherwise. Runs after every change to the fields that
        /// decide it (`didSet`), so no code path can forget it.
        func publish() {
            guard let publisher else { return }
            // ActiveSync accounts are not on the hot path: their header carries a policy key.
            if config.method == .oauth, config.allowedClients.isEmpty, !config.isActiveSync, pendingWrites.isEmpty, !needsRestore,
                let token = machine.servableToken
            {
                publisher.publish(account: config.name, token: token, minValid: config.minValid)
            } else {
                publisher.withdraw(account: config.name)
            }
        }
    }

    struct ScopedSlot {
        var scopes: [String]
        var machine: TokenMachine
    }

    final class LoginSession {
        let id: String
        /// The account it signs in (its `allowed_clients` also guard the answers).
        let account: String
        /// Stops the sign-in's job (BackgroundWork).
        var job: JobCancel?
        var subscribers: [Int: AsyncStream<LoginEvent>.Continuation] = [:]
        var nextSubscriber = 0
        var lastPrompt: LoginEvent?
        /// Kerberos and password sign-ins: where the person's answers go.
        var relay: PromptRelay?
        init(id: String, account: String) {
            self.id = id
            self.account = account
        }

        /// Stops the sign-in, waking a question that is waiting for the person.
        func cancel() {
            relay?.cancel()
            job?.cancel()
        }
    }

    /// The provider exchanges: `OAuthClient` in the daemon, an in-memory provider in tests.
    let oauth: any OAuthExchange
    let store: any CredentialStore
    let logger: Logger
    let clock: @Sendable () -> Timestamp
    /// Waits between device-flow polls (`Task.sleep`; the broker's tests pass one that only yields).
    let sleep: @Sendable (Double) async throws -> Void
    let notifier: any Notifier
    /// Why the configured store is not the one in use (`auto` fell back), shown by `status`.
    public nonisolated let storeWarning: String?
    var settings: BrokerSettings
    var accounts: [String: Account] = [:]
    /// ActiveSync accounts' devices (Broker+ActiveSync.swift).
    var activeSync: [String: ActiveSyncSession] = [:]
    /// Running sign-ins by id; only touched on this actor.
    var sessions: [String: LoginSession] = [:]
    var order: [String] = []
    var metrics = BrokerMetrics()
    /// The last sign-in and refresh errors kept for `diagnose` (Broker+ErrorMemory.swift).
    var errorMemory = ErrorMemory()
    /// The last generation handed to an account: one counter for all, so an account removed
    /// and added again by reloads never meets a generation a running refresh still holds.
    var lastGeneration = 0
    /// The server's table of answers served without a hop to this actor (nil: none).
    let publisher: (any TokenPublisher)?
    /// Every job the broker starts runs here; the daemon runs it and drains it at shutdown.
    public nonisolated let work = BackgroundWork()
    /// Requests waiting on OAuth refreshes, by account and scope set.
    var refreshes = SingleFlight<RefreshKey, Result<AccessToken, LatchkeyError>>()
    /// Running Kerberos renewals or re-acquisitions by account, with the callers that joined.
    var renewals = SingleFlight<String, Bool>()
    /// Wakes the refresh scheduler when what is due changes (Broker+Scheduler.swift).
    let doorbell = Doorbell()

    public init(configuration: Configuration, oauth: any OAuthExchange, store: any CredentialStore, storeWarning: String? = nil,
                notifier: any Notifier = SilentNotifier(), publisher: (any TokenPublisher)? = nil, logger: Logger,
                clock: @escaping @Sendable () -> Timestamp = WallClock.now,
                sleep: @escaping @Sendable (Double) async throws -> Void = { try await Task.sleep(for: .seconds($0)) }) {
        self.publisher = publisher
        publisher?.setDefaultMinValid(configuration.broker.minValid)
        self.notifier = notifier
        self.oauth = oauth
        self.store = store
        self.storeWarning = storeWarning
        self.logger = logger
        self.clock = clock
        self.sleep = sleep
        self.settings = configuration.broker
        for config in configuration.accounts {
            accounts[config.name] = Account(config: config, machine: TokenMachine(account: config.name), publisher: publisher)
            order.append(config.name)
        }
    }

    /// Loads what the store kept, so a restart needs no new sign-in. An account whose items
    /// cannot be read now (locked keyring, no service) is read again when a client asks.
    public func restore() async {
        for name in order { await restoreAccount(name) }
        wakeScheduler()
    }

    private func restoreAccount(_ name: String) async {
        do {
            let refresh = try await store.read(account: name, kind: .refreshToken)
            let storedAccess = try await store.read(account: name, kind: .accessToken)
            let access = storedAccess.flatMap(StoredAccessToken.decode)
            guard accounts[name]?.machine.state == .signedOut else { return }  // signed in meanwhile
            accounts[name]?.session = storedAccess.map(StoredAccessToken.session) ?? SessionLife()
            accounts[name]?.refreshToken = refresh
            accounts[name]?.machine.restored(access, hasRefreshToken: refresh != nil)
            accounts[name]?.needsRestore = false
            accounts[name]?.storeError = nil
            if refresh != nil { logger.info("credentials restored from the store", metadata: ["account": "\(name)", "store": "\(store.name)"]) }
        } catch {
            accounts[name]?.needsRestore = true
            accounts[name]?.storeError = error
            logger.warning("could not read stored credentials", metadata: ["account": "\(name)", "store": "\(store.name)", "error": "\(error.message)"])
        }
    }

    // MARK: Queries

    /// The store in use, as `status` names it.
    public nonisolated var storeName: String { store.name }

    public func summaries() -> [AccountSummary] {
        order.compactMap { summary(of: $0) }
    }

    public func summary(account name: String) throws(LatchkeyError) -> AccountSummary {
        guard let summary = summary(of: name) else { throw .unknownAccount(name) }
        return summary
    }

    private func summary(of name: String) -> AccountSummary? {
        guard let account = accounts[name] else { return nil }
        if account.config.method == .kerberos || account.config.method == .basic {
            var summary = AccountSummary(
                name: name, method: account.config.method, state: account.login != nil ? .signingIn : account.kerberos.state,
                expiresAt: account.kerberos.expiresAt, lastError: account.kerberos.lastError, lastRefresh: account.lastRefresh,
                scopes: [], store: store.name, persisted: account.pendingWrites.isEmpty && store.isPersistent,
                email: account.config.email, url: account.config.url, gitHosts: account.config.gitHosts)
            summary.signin = signinForecast(name)
            return summary
        }
        var summary = withActiveSync(AccountSummary(
            name: name, method: account.config.method, state: account.machine.state,
            expiresAt: account.machine.token?.expiresAt, lastError: account.machine.lastError ?? account.storeError?.message,
            lastRefresh: account.lastRefresh, scopes: account.machine.token?.scopes ?? account.config.scopes,
            store: store.name, persisted: account.pendingWrites.isEmpty && !account.needsRestore && store.isPersistent,
            email: account.config.email, url: account.config.url, gitHosts: account.config.gitHosts))
        summary.session = account.session
        summary.signin = signinForecast(name)
        return summary
    }

    // MARK: Tokens

    /// A token valid for at least `minValid` seconds (the account's or broker's default when
    /// nil), refreshing first when needed. Concurrent callers share one refresh. With a
    /// `client`, the account's `allowed_clients` are enforced and the hand-out is audited.
    public func token(account name: String, scopes: [String] = [], minValid: Double? = nil, client: ClientIdentity? = nil) async throws(LatchkeyError) -> AccessToken {
        guard let original = accounts[name]?.config else { throw .unknownAccount(name) }
        try authorize(name, original, client)
        try await resolveAutoMethod(name)
        return try await handOutToken(account: name, scopes: scopes, minValid: minValid, client: client)
    }

    /// The token for a client already checked against `allowed_clients`, and its audit line.
    func handOutToken(account name: String, scopes: [String], minValid: Double?, client: ClientIdentity?) async throws(LatchkeyError) -> AccessToken {
        guard let config = accounts[name]?.config else { throw .unknownAccount(name) }
        noteUse(name)
        let token = try await currentToken(name, scopeKey: Self.scopeKey(scopes, configured: config.scopes), scopes: scopes, minValid: minValid)
        metrics.handedOut += 1
        if let client {
            AuditLine.handedOut(logger, account: name, client: client, scheme: "Bearer", scopes: token.scopes.joined(separator: " "))
        }
        return token
    }

    /// How many requests wait on the account's own refresh.
    func waitingRequests(account name: String) -> Int {
        refreshes.waiting(RefreshKey(account: name))
    }

    func nextGeneration() -> Int {
        lastGeneration += 1
        return lastGeneration
    }

    public func countRefusal() {
        metrics.refused += 1
    }

    public func metricsText() -> String {
        var states: [String: Int] = [:]
        for name in order { states[accounts[name]!.machine.state.rawValue, default: 0] += 1 }
        var counters = metrics
        if let served = publisher?.handedOut {
            counters.cacheHits += served
            counters.handedOut += served
        }
        return counters.prometheus(accountsByState: states) + signinMetrics()
    }

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
        scoped.hint = "Ask only for scopes the account may have, or add \(key) to the account's scopes and sign in again."
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

    private func currentToken(_ name: String, scopeKey key: String?, scopes: [String], minValid: Double?) async throws(LatchkeyError) -> AccessToken {
        guard let account = accounts[name] else { throw .unknownAccount(name) }
        guard account.config.method == .oauth else {
            throw LatchkeyError(
                .configuration, "'\(name)' uses the \(account.config.method.rawValue) method, which hands out no OAuth access token.",
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

    /// The `Authorization` header value for a client.
    public func authorization(account name: String, url: String?, minValid: Double?, client: ClientIdentity? = nil) async throws(LatchkeyError) -> (value: Secret<String>, expiresAt: Timestamp) {
        guard let original = accounts[name]?.config else { throw .unknownAccount(name) }
        try authorize(name, original, client)
        try await resolveAutoMethod(name)
        guard let config = accounts[name]?.config else { throw .unknownAccount(name) }
        if config.method == .kerberos || config.method == .basic {
            let header: (value: Secret<String>, expiresAt: Timestamp)
            if config.method == .basic {
                header = try await basicAuthorization(name, url: url)
            } else {
                do {
                    header = try await kerberosAuthorization(name, url: url, minValid: minValid)
                } catch where config.fallback.contains(.basic) && error.code != .badRequest {
                    // fallback = ["basic"]: Kerberos cannot work; Basic with the kept password.
                    header = try await basicAuthorization(name, url: url, because: error)
                }
            }
            metrics.handedOut += 1
            noteUse(name)
            if let client { AuditLine.handedOut(logger, account: name, client: client, scheme: AuditLine.scheme(of: header.value)) }
            return header
        }
        let token = try await handOutToken(account: name, scopes: [], minValid: minValid, client: client)
        return (Secret("Bearer " + token.value.reveal()), token.expiresAt)
    }

    func runRefresh(_ name: String, trigger: String, scopeKey key: String? = nil) async {
        guard let account = accounts[name], let refreshToken = account.refreshToken else {
            finishRefresh(name, key, withMachine(name, key) { $0.refreshFailed(.permanent(message: "There is no refresh token for '\(name)'."), now: clock()) })
            return
        }
        let scopes = key.flatMap { account.scoped[$0]?.scopes } ?? account.config.scopes
        let started = clock()
        let generation = account.generation
        let outcome: TokenMachine.RefreshOutcome?
        do {
            let metadata = try await self.metadata(for: name)
            let claims = account.pendingClaims
            CrashPoint.hit("refresh.before_request")
            let response = try await oauth.refresh(
                tokenEndpoint: metadata.tokenEndpoint, clientID: account.config.clientID ?? "",
                refreshToken: refreshToken, scopes: scopes, claims: claims, options: httpOptions(account.config))
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
            if key == nil { await persist(name, .accessToken, StoredAccessToken.encode(token, session: accounts[name]?.session)) }
            guard accounts[name]?.generation == generation else {
                // Signed out while storing: take back what this refresh wrote.
                try? await store.deleteAll(account: name)
                return abandonRefresh(name, key)
            }
            accounts[name]?.lastRefresh = now
            outcome = withMachine(name, key) { $0.refreshSucceeded(token, now: now) }
            if key == nil { rememberRefresh(name, nil) }
            metrics.recordRefresh(.ok, seconds: now - started)
            logger.info("token refreshed", metadata: [
                "account": "\(name)", "trigger": "\(trigger)", "expires_in": "\(CheckedNumber.describe(response.expiresIn))",
                "rotated": "\(response.refreshToken != nil)", "duration_ms": "\(Int(clamping: (now - started) * 1000) ?? 0)",
            ])
        } catch {
            // A scope set's failure is about that scope set only: the account stays as it is.
            let failure: TokenMachine.Failure = error.isTransient
                ? .transient(message: error.description, retryAfter: error.retryAfter)
                : .permanent(message: key.map { "The provider gives no token for '\(name)' with the scopes \($0): \(error.description). The account itself is unchanged." }
                    ?? "Signing in to '\(name)' again is needed: \(error.description).")
            metrics.recordRefresh(error.isTransient ? .transient : .permanent, seconds: clock() - started)
            logger.warning("token refresh failed", metadata: [
                "account": "\(name)", "trigger": "\(trigger)", "transient": "\(error.isTransient)", "error": "\(error.description)",
            ])
            guard accounts[name]?.generation == generation else { return abandonRefresh(name, key) }
            if key == nil { rememberRefresh(name, error) }
            noteRefreshFailure(name, message: error.description)
            outcome = withMachine(name, key) { $0.refreshFailed(failure, now: clock(), jitter: Double.random(in: 0...1)) }
            if case .permanent = failure, key == nil { signInNeeded(name, because: error.description) }
        }
        finishRefresh(name, key, outcome.map { Self.scoped($0, key) })
    }

    /// Starts `runRefresh` as a job of `work`; false (the refresh marked failed, nobody waiting
    /// yet) when the daemon is stopping.
    func startRefresh(_ name: String, trigger: String, scopeKey key: String? = nil) -> Bool {
        if work.start({ await self.runRefresh(name, trigger: trigger, scopeKey: key) }) { return true }
        finishRefresh(name, key, withMachine(name, key) { $0.refreshFailed(.transient(message: Self.stopping.message, retryAfter: 1), now: clock()) })
        return false
    }

    /// The answer to a request that would need new work while the daemon stops.
    public static let stopping = LatchkeyError(.providerUnavailable, "The Latchkey daemon is stopping.", hint: "Try again in a moment.", retryAfter: 1)

    /// Shutdown: cancels every sign-in (waking a question that waits for the person), then
    /// takes no more jobs; what runs (a refresh) finishes, and `work.run()` returns after it.
    public func stop() {
        for session in sessions.values { session.cancel() }
        work.close()
    }

    /// A refresh that finished after a sign-out, a new sign-in or a reload: it changes nothing.
    private func abandonRefresh(_ name: String, _ key: String?) {
        finishRefresh(name, key, .failWaiters(.signinRequired(name, "'\(name)' was signed out while its token was being refreshed.")))
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

    private static func result(_ name: String, _ outcome: TokenMachine.RefreshOutcome?) -> Result<AccessToken, LatchkeyError> {
        switch outcome {
        case .serveWaiters(let token): .success(token)
        case .failWaiters(let error): .failure(error)
        case nil: .failure(.unknownAccount(name))
        }
    }

    // MARK: Helpers

    /// Tells the person, once, that the account needs a sign-in (rate limited: at most one
    /// notification per account every 10 minutes).
    func signInNeeded(_ name: String, because why: String) {
        let now = clock()
        if let last = accounts[name]?.notifiedAt, now - last < 600 { return }
        accounts[name]?.notifiedAt = now
        let notifier = self.notifier
        work.start { await notifier.notify(summary: "Latchkey: sign in to '\(name)' again", body: "\(why) Run: latchkey login \(name)") }
        logger.info("notified: sign-in needed", metadata: ["account": "\(name)"])
    }

    func httpOptions(_ config: AccountConfig) -> HTTPOptions {
        HTTPOptions(caFile: config.caFile, connectTimeout: min(10, settings.providerTimeout), totalTimeout: settings.providerTimeout)
    }

    /// The provider's endpoints (`ProviderMetadata.resolve`), cached per account.
    func metadata(for name: String) async throws(OAuthError) -> ProviderMetadata {
        guard let config = accounts[name]?.config else { throw .invalidResponse("unknown account") }
        if let cached = accounts[name]?.metadata { return cached }
        let metadata = try await ProviderMetadata.resolve(for: config, exchange: oauth, options: httpOptions(config))
        // A reload may have changed the account's provider meanwhile: cache only what is current.
        if accounts[name]?.config.sameProvider(as: config) == true { accounts[name]?.metadata = metadata }
        return metadata
    }

    /// Writes a secret to the store. A failed write keeps the secret in memory, shows the
    /// account as not persisted, and is tried again (after 5 s, on the next request).
    func persist(_ name: String, _ kind: ItemKind, _ value: Secret<String>) async {
        do {
            try await store.write(account: name, kind: kind, value: value)
            accounts[name]?.pendingWrites[kind] = nil
        } catch {
            accounts[name]?.pendingWrites[kind] = value
            accounts[name]?.nextWriteRetry = clock() + 5
            logger.error("could not store a credential; keeping it in memory", metadata: [
                "account": "\(name)", "item": "\(kind.label)", "store": "\(store.name)", "error": "\(error.message)",
            ])
        }
    }

    func flushPendingWrites(_ name: String) async {
        guard let pending = accounts[name]?.pendingWrites, !pending.isEmpty else { return }
        for (kind, value) in pending where accounts[name]?.pendingWrites[kind] == value {
            await persist(name, kind, value)
        }
        if accounts[name]?.pendingWrites.isEmpty == true {
            logger.info("credentials stored after an earlier failure", metadata: ["account": "\(name)", "store": "\(store.name)"])
        }
    }

    /// A store failure as the person sees it.
    func storeError(_ name: String, _ error: StoreError) -> LatchkeyError {
        switch error.kind {
        case .locked:
            return LatchkeyError(.signinRequired, "The credentials of '\(name)' cannot be read: \(error.message)", hint: "Unlock the keyring; nothing is lost, no new sign-in is needed.")
        case .noBus, .tampered, .keyMissing:
            return LatchkeyError(.configuration, "The credentials of '\(name)' cannot be read: \(error.message)", hint: "Fix the store as the message says, then try again.")
        case .unavailable, .io, .other:
            return LatchkeyError(.storeUnavailable, "The credentials of '\(name)' cannot be read: \(error.message)", hint: "Start the keyring service (or fix the store), then try again; nothing is lost.", retryAfter: 10)
        }
    }
}

extension Broker {
    /// Signs the account out: forgets every secret in memory and in the store. The
    /// account's `allowed_clients` are enforced against `client`.
    public func logout(account name: String, client: ClientIdentity? = nil) async throws(LatchkeyError) {
        guard let config = accounts[name]?.config else { throw .unknownAccount(name) }
        try authorize(name, config, client)
        accounts[name]?.login?.cancel()
        accounts[name]?.login = nil
        accounts[name]?.generation = nextGeneration()
        accounts[name]?.refreshToken = nil
        accounts[name]?.pendingWrites = [:]
        accounts[name]?.kerberos.signedOut()
        accounts[name]?.machine.signedOut()
        failAllWaiters(name, .failWaiters(.signinRequired(name, "'\(name)' was signed out.")))
        accounts[name]?.scoped = [:]
        activeSync[name] = nil  // the DeviceId and policy key leave with the credentials
        do {
            try await store.deleteAll(account: name)
        } catch {
            var failure = storeError(name, error)
            failure.message = "Signed out in memory, but the credentials of '\(name)' could not be removed from the \(store.name) store: \(error.message)"
            failure.hint = "Fix the store, then run `latchkey logout \(name)` again."
            throw failure
        }
        accounts[name]?.needsRestore = false
        accounts[name]?.storeError = nil
        logger.info("signed out", metadata: ["account": "\(name)"])
    }
}
