import LatchkeyActiveSync
import LatchkeyCore
import LatchkeyHTTP
import LatchkeyNotify
import LatchkeyOAuth
import LatchkeyStore
import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// The one owner of accounts, tokens and sign-ins. Handlers ask it; it answers from memory
/// when it can and talks to providers when it must, one refresh per account at a time.
///
/// A registry that routes to flows: each account's method has its flow (`OAuthFlow`,
/// `BasicFlow`, `KerberosFlow`: the exchanges with the provider or service) and its state
/// (`Account.oauth`, `Account.basic`, `Account.kerberos`: pure values whose events return what
/// to do). The broker looks the account up, runs the flow, hands the result to the state with
/// `now` and the account's generation, and carries out the actions: store writes, waking the
/// requests that wait (`refreshes`, `renewals`: `SingleFlight`), notifications, metrics and
/// logs. What every method shares stays here: the configuration, the sign-in sessions and
/// their one commit (`commitSignIn`), reload, the scheduler and the background work.
public actor Broker {
    /// The provider exchanges: `OAuthClient` in the daemon, an in-memory provider in tests.
    let oauth: any OAuthExchange
    /// ActiveSync provisioning: over HTTP in the daemon, a server in memory in tests.
    let provisioning: any ActiveSyncProvisioning
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
    var renewals = SingleFlight<String, TicketMachine.Renewal>()
    /// Running ActiveSync provisionings by account (Broker+ActiveSync.swift).
    var provisions = SingleFlight<ProvisionKey, Result<Void, LatchkeyError>>()
    /// Wakes the refresh scheduler when what is due changes (Broker+Scheduler.swift).
    let doorbell = Doorbell()

    public init(
        configuration: Configuration, oauth: any OAuthExchange, store: any CredentialStore, storeWarning: String? = nil,
        notifier: any Notifier = SilentNotifier(), publisher: (any TokenPublisher)? = nil,
        provisioning: (any ActiveSyncProvisioning)? = nil, logger: Logger,
        clock: @escaping @Sendable () -> Timestamp = WallClock.now,
        sleep: @escaping @Sendable (Double) async throws -> Void = { try await Task.sleep(for: .seconds($0)) }
    ) {
        self.publisher = publisher
        publisher?.setDefaultMinValid(configuration.broker.minValid)
        self.notifier = notifier
        self.oauth = oauth
        self.provisioning = provisioning ?? HTTPProvisioning(http: oauth.http)
        self.store = store
        self.storeWarning = storeWarning
        self.logger = logger
        self.clock = clock
        self.sleep = sleep
        self.settings = configuration.broker
        for config in configuration.accounts {
            accounts[config.name] = Account(config: config, publisher: publisher)
            order.append(config.name)
        }
    }

    /// Loads what the store kept, so a restart needs no new sign-in. An account whose items
    /// cannot be read now (locked keyring, no service) is read again when a client asks.
    public func restore() async {
        for name in order {
            await restoreAccount(name)
            await restoreKerberosSession(name)
        }
        wakeScheduler()
    }

    func restoreAccount(_ name: String) async {
        do {
            let refresh = try await store.read(account: name, kind: .refreshToken)
            let storedAccess = try await store.read(account: name, kind: .accessToken)
            let access = storedAccess.flatMap(StoredAccessToken.decode)
            guard accounts[name]?.oauth.machine.state == .signedOut else { return }  // signed in meanwhile
            accounts[name]?.session = storedAccess.map(StoredAccessToken.session) ?? SessionLife()
            accounts[name]?.oauth.restored(access, refreshToken: refresh)
            accounts[name]?.needsRestore = false
            accounts[name]?.storeError = nil
            if refresh != nil {
                logger.info(
                    "credentials restored from the store", metadata: ["account": "\(name)", "store": "\(store.name)"])
            }
        } catch {
            accounts[name]?.needsRestore = true
            accounts[name]?.storeError = error
            logger.warning(
                "could not read stored credentials",
                metadata: ["account": "\(name)", "store": "\(store.name)", "error": "\(error.message)"])
        }
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
        for name in order { states[accounts[name]!.oauth.machine.state.rawValue, default: 0] += 1 }
        var counters = metrics
        if let served = publisher?.handedOut {
            counters.cacheHits += served
            counters.handedOut += served
        }
        return counters.prometheus(accountsByState: states) + signinMetrics()
    }

    /// The answer to a request that would need new work while the daemon stops.
    public static let stopping = LatchkeyError(
        .providerUnavailable, "The Latchkey daemon is stopping.", hint: "Try again in a moment.", retryAfter: 1)

    /// Shutdown: cancels every sign-in (waking a question that waits for the person), then
    /// takes no more jobs; what runs (a refresh) finishes, and `work.run()` returns after it.
    public func stop() {
        for session in sessions.values { session.cancel() }
        work.close()
    }
}
