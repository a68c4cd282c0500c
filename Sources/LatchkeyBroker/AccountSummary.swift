import LatchkeyCore

/// What `GET /v1/accounts` and `latchkey status` show of an account. Never a secret.
public struct AccountSummary: Sendable, Equatable {
    public var name: String
    public var method: AuthMethod
    public var state: TokenMachine.State
    public var expiresAt: Timestamp?
    public var lastError: String?
    public var lastRefresh: Timestamp?
    public var scopes: [String]
    public var store: String
    public var persisted: Bool
    public var email: String?
    public var url: String?
    public var gitHosts: [String] = []
    /// An ActiveSync account's device: DeviceId, version, policy key state, the policy's
    /// requirements Latchkey does not enforce, how it acknowledged (Broker+ActiveSync.swift).
    public var activeSync: JSONValue?
    /// What is known of the session's life (OAuth accounts), and the sign-in forecast from it (OAuth
    /// and Kerberos accounts).
    public var session: SessionLife?
    public var signin: SessionLife.Forecast?

    public func json(detailed: Bool) -> JSONValue {
        var members: [(String, JSONValue)] = [
            ("name", .string(name)), ("method", .string(method.rawValue)), ("state", .string(state.rawValue)),
            ("expires_at", expiresAt.map { .number(Double($0.unixSeconds)) } ?? .null),
            ("last_error", lastError.map(JSONValue.string) ?? .null), ("persisted", .bool(persisted)),
            // null: unknown — no limit of the provider is known (never a guess).
            ("signin_needed_by", signin.map { .number(Double($0.by.unixSeconds)) } ?? .null),
            ("signin_reason", signin.map { .string($0.reason) } ?? .null),
        ]
        if detailed {
            members.append(("scopes", .array(scopes.map(JSONValue.string))))
            members.append(("store", .string(store)))
            members.append(("last_refresh", lastRefresh.map { .number(Double($0.unixSeconds)) } ?? .null))
            members.append(("email", email.map(JSONValue.string) ?? .null))
            members.append(("url", url.map(JSONValue.string) ?? .null))
            members.append(("git_hosts", .array(gitHosts.map(JSONValue.string))))
            if let session {
                func time(_ t: Timestamp?) -> JSONValue { t.map { .number(Double($0.unixSeconds)) } ?? .null }
                members.append(("signed_in_at", time(session.signedInAt)))
                members.append(
                    (
                        "signed_in_from",
                        session.signedInAt == nil
                            ? .null : .string(session.signedInFromAuthTime ? "auth_time" : "local")
                    ))
                members.append(("refresh_token_used_at", time(session.refreshUsedAt)))
                members.append(("refresh_token_rotated_at", time(session.refreshRotatedAt)))
                members.append(("session_lifetime_learnt", session.learntLifetime.map(JSONValue.number) ?? .null))
            }
        }
        if let activeSync { members.append(("activesync", activeSync)) }
        return .object(members)
    }
}
