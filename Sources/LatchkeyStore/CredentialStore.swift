import LatchkeyCore

/// What a store keeps for an account. Each kind is its own item, labelled for people
/// ("Latchkey: work — refresh token") in stores that show items.
public enum ItemKind: String, Sendable, CaseIterable {
    case refreshToken = "refresh_token"
    case accessToken = "access_token"
    case password
    /// An ActiveSync account's DeviceId on this machine (not a secret; kept with the
    /// credentials so that it stays stable and leaves with them).
    case activeSyncDevice = "activesync_device"
    /// What is known of a Kerberos account's session (`SessionLife`: the password expiry the KDC
    /// reported at sign-in, the deadline the person was warned of). Not a secret; an OAuth
    /// account keeps the same record inside its access token's item.
    case session

    public var label: String {
        switch self {
        case .refreshToken: "refresh token"
        case .accessToken: "access token"
        case .password: "password"
        case .activeSyncDevice: "ActiveSync device id"
        case .session: "session record"
        }
    }
}

/// A store failed. The message names the fix; it never holds a secret.
public struct StoreError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        /// No Secret Service answers on the session bus (no provider, or it stopped).
        case unavailable
        /// No session bus: no address, or its socket is gone.
        case noBus
        /// The keyring (collection) is locked: only the person can unlock it.
        case locked
        /// The encrypted file fails authentication: changed on disk, or a different key.
        case tampered
        /// The file store's key is missing or unusable.
        case keyMissing
        /// Reading or writing a file failed (permissions, disk full…).
        case io
        case other
    }

    public var kind: Kind
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }
}

/// One protocol in front of every store: Secret Service, encrypted file, memory.
public protocol CredentialStore: Sendable {
    /// `memory`, `secret-service` or `file`, as `status` shows it.
    var name: String { get }
    /// Whether what it keeps survives a restart of the daemon.
    var isPersistent: Bool { get }
    func read(account: String, kind: ItemKind) async throws(StoreError) -> Secret<String>?
    func write(account: String, kind: ItemKind, value: Secret<String>) async throws(StoreError)
    func delete(account: String, kind: ItemKind) async throws(StoreError)
}

extension CredentialStore {
    /// Forgets every item of the account (sign-out).
    public func deleteAll(account: String) async throws(StoreError) {
        for kind in ItemKind.allCases { try await delete(account: account, kind: kind) }
    }
}
