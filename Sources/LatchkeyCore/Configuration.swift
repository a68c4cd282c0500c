/// The whole configuration (SPEC.md §9): broker settings and the accounts.
public struct Configuration: Sendable, Equatable {
    public var broker: BrokerSettings
    /// Accounts in the order the file lists them.
    public var accounts: [AccountConfig]

    public init(broker: BrokerSettings = BrokerSettings(), accounts: [AccountConfig] = []) {
        self.broker = broker
        self.accounts = accounts
    }

    public func account(named name: String) -> AccountConfig? {
        accounts.first { $0.name == name }
    }
}

/// `[broker]`: settings for the daemon as a whole, with documented defaults.
public struct BrokerSettings: Sendable, Equatable {
    public enum StoreKind: String, Sendable, CaseIterable {
        case auto
        case secretService = "secret-service"
        case file
        case memory
    }

    public enum Notify: String, Sendable, CaseIterable {
        case desktop, command, none
    }

    /// Where secrets are kept. Default `auto`: the Secret Service, else memory with a warning.
    public var store: StoreKind = .auto
    /// Refresh proactively when this many seconds or 10% of the lifetime are left. Default 5 minutes.
    public var refreshBefore: Double = 300
    /// The validity every token handed out has at least, unless a request asks otherwise. Default 60 s.
    public var minValid: Double = 60
    /// An account a client asked for within this long is refreshed ahead of expiry. Default 4 hours.
    public var activeWindow: Double = 4 * 3600
    /// An idle account's refresh token is used at least this often, to keep it alive. Default 7 days.
    public var keepaliveInterval: Double = 7 * 86_400
    /// How long before a forecast sign-in the person is told, once. Default 24 hours.
    public var signinWarning: Double = 86_400
    /// How long a provider may take to answer one request, in seconds. Default 30 s.
    public var providerTimeout: Double = 30
    public var notify: Notify = .desktop
    public var notifyCommand: [String] = []
    /// The key of the `file` store, when not given by systemd credentials.
    public var keyFile: String?
    /// The encrypted file of the `file` store. Default `$XDG_DATA_HOME/latchkey/store.bin`.
    public var storeFile: String?

    public init() {}
}

/// How an account authenticates (SPEC.md §1).
public enum AuthMethod: String, Sendable, CaseIterable {
    case oauth, kerberos, basic, auto
}

/// `[accounts.NAME]`.
public struct AccountConfig: Sendable, Equatable {
    public enum Provider: String, Sendable, CaseIterable {
        case microsoft, google, oidc
    }

    public enum Flow: String, Sendable, CaseIterable {
        case device, browser
    }

    public var name: String
    public var email: String?
    public var method: AuthMethod = .oauth
    public var fallback: [AuthMethod] = []

    // OAuth
    public var provider: Provider = .oidc
    public var tenant: String = "organizations"
    public var issuer: String?
    public var clientID: String?
    public var scopes: [String] = []
    public var flow: Flow = .device
    public var caFile: String?
    public var authorizationEndpoint: String?
    public var tokenEndpoint: String?
    public var deviceAuthorizationEndpoint: String?
    public var revocationEndpoint: String?

    // Kerberos and Basic
    public var principal: String?
    public var service: String?
    public var username: String?
    public var rememberPassword: Bool = false

    // Clients
    public var url: String?
    public var gitHosts: [String] = []
    /// The account's mail servers, for `diagnose`'s login checks: IMAPS (implicit TLS) and SMTP
    /// submission (STARTTLS), as "host:port".
    public var imap: HostPort?
    public var smtp: HostPort?
    public var allowedClients: [String] = []
    /// For an ActiveSync account: the person accepts the server's device policy, so Latchkey
    /// acknowledges it as applied (Status 1) though it enforces none of it on this machine.
    public var activeSyncAcceptPolicy: Bool = false
    /// Overrides the broker's `min_valid` for this account.
    public var minValid: Double?
    /// The provider's maximum session lifetime from the interactive sign-in (Conditional
    /// Access sign-in frequency), if known. Learnt from AADSTS70043 when not set.
    public var sessionLifetime: Double?
    /// The provider's refresh-token inactivity window; Microsoft's 90 days when not set.
    public var inactivityLimit: Double?

    /// `inactivity_limit`, or what the provider is known to use (Microsoft: 90 days).
    public var knownInactivityLimit: Double? {
        inactivityLimit ?? (provider == .microsoft ? 90 * 86_400 : nil)
    }

    /// The line of the `[accounts.NAME]` header, for messages.
    public var line: Int = 0

    public init(name: String) {
        self.name = name
    }

    /// Whether `url` is an Exchange ActiveSync endpoint (its path ends in
    /// /Microsoft-Server-ActiveSync): Latchkey then provisions the account (MS-ASPROV).
    public var isActiveSync: Bool {
        guard let url else { return false }
        let path = url.split(separator: "?", maxSplits: 1).first.map(String.init) ?? url
        return path.lowercased().hasSuffix("/microsoft-server-activesync")
    }
}
