/// An access token as handed out: the secret value, its scheme and its life.
public struct AccessToken: Sendable, Equatable {
    public var value: Secret<String>
    /// `Bearer` for OAuth.
    public var tokenType: String
    public var issuedAt: Timestamp
    public var expiresAt: Timestamp
    public var scopes: [String]

    public init(
        value: Secret<String>, tokenType: String = "Bearer", issuedAt: Timestamp, expiresAt: Timestamp,
        scopes: [String] = []
    ) {
        self.value = value
        self.tokenType = tokenType
        self.issuedAt = issuedAt
        self.expiresAt = expiresAt
        self.scopes = scopes
    }

    public var lifetime: Double { expiresAt - issuedAt }

    public func remaining(at now: Timestamp) -> Double { expiresAt - now }

    /// A token with no time left counts as expired (a ticket or token "valid for 0 s" is not).
    public func isExpired(at now: Timestamp) -> Bool { remaining(at: now) <= 0 }
}
