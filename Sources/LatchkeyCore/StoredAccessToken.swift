/// How an access token and its life are kept in a store item: a small JSON document, with
/// what is known of the session's life (`SessionLife`) beside it.
public enum StoredAccessToken {
    public static func encode(_ token: AccessToken, session: SessionLife? = nil) -> Secret<String> {
        var members: [(String, JSONValue)] = [
            ("access_token", .string(token.value.reveal())), ("token_type", .string(token.tokenType)),
            ("issued_at", .number(token.issuedAt.secondsSinceEpoch)),
            ("expires_at", .number(token.expiresAt.secondsSinceEpoch)),
            ("scopes", .array(token.scopes.map(JSONValue.string))),
        ]
        if let session { members.append(("session", session.json)) }
        return Secret(JSONValue.object(members).encoded)
    }

    /// The session's life kept with the token (all unknown when an older Latchkey wrote it).
    public static func session(_ stored: Secret<String>) -> SessionLife {
        SessionLife(json: (try? JSONValue.parse(stored.reveal()))?["session"])
    }

    public static func decode(_ stored: Secret<String>) -> AccessToken? {
        guard let json = try? JSONValue.parse(stored.reveal()),
            let value = json["access_token"]?.stringValue,
            let issued = json["issued_at"]?.doubleValue, let expires = json["expires_at"]?.doubleValue
        else { return nil }
        return AccessToken(
            value: Secret(value), tokenType: json["token_type"]?.stringValue ?? "Bearer",
            issuedAt: Timestamp(secondsSinceEpoch: issued), expiresAt: Timestamp(secondsSinceEpoch: expires),
            scopes: (json["scopes"]?.arrayValue ?? []).compactMap(\.stringValue))
    }
}
