import LatchkeyCore
import LatchkeyHTTP
import LatchkeyOAuth
import LatchkeyStore
import Logging

extension Broker {
    /// One account as the broker holds it: what every method shares (its configuration, the
    /// running sign-in, the generation that makes stale work stale, the writes still to be
    /// retried, the hot-path publisher, the time of its last use), and each method's own state,
    /// owned by that method's side: `oauth` (`OAuthAccountState`), `basic`
    /// (`BasicAccountState`), `kerberos` (`TicketMachine`).
    struct Account {
        var config: AccountConfig { didSet { publish() } }
        /// The OAuth side: token machines, refresh token, claims, provider metadata.
        var oauth: OAuthAccountState { didSet { publish() } }
        /// The Basic side: signed in or not, until when.
        var basic = BasicAccountState()
        var login: LoginSession?
        /// Kerberos accounts: the last sign-in or renewal (OAuth and Basic keep theirs in `oauth`
        /// and `basic`).
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
        /// Kerberos accounts: the ticket as last seen.
        var kerberos = TicketMachine()
        /// When the person was last told that this account needs a sign-in.
        var notifiedAt: Timestamp?
        /// Changes at every sign-in and sign-out: a refresh or sign-in that started under an
        /// older generation stores nothing when it finishes (a logout must stay a logout).
        var generation = 0
        /// The generation the last committed sign-in took (`commitSignIn`).
        var lastSignIn = 0
        /// The generation the last sign-in took when it began to commit: while it is still the
        /// account's generation, the store holds (or is about to hold) that sign-in's secrets.
        var signInGeneration = 0
        /// Told of every change to what this account would hand out from memory.
        var publisher: (any TokenPublisher)?

        init(config: AccountConfig, publisher: (any TokenPublisher)?) {
            self.config = config
            self.oauth = OAuthAccountState(account: config.name)
            self.publisher = publisher
        }

        /// The OAuth machine of the account's own scopes (`oauth.machine`), read-only.
        var machine: TokenMachine { oauth.machine }

        /// Publishes the account's own token while `currentToken` would serve it without any
        /// other step, and withdraws it otherwise. Runs after every change to the fields that
        /// decide it (`didSet`), so no code path can forget it.
        func publish() {
            guard let publisher else { return }
            // ActiveSync accounts are not on the hot path: their header carries a policy key.
            if config.method == .oauth, config.allowedClients.isEmpty, !config.isActiveSync, pendingWrites.isEmpty,
                !needsRestore,
                let token = oauth.machine.servableToken
            {
                publisher.publish(account: config.name, token: token, minValid: config.minValid)
            } else {
                publisher.withdraw(account: config.name)
            }
        }
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
}
