

/// How an access token and its life are kept in a store item: a small JSON document.
public enum StoredAccessToken {
    public static func encode(_ token: AccessToken) -> Secret<String> {
        let json: JSONValue = .object([
            ("access_token", .string(token.value.reveal())), ("token_type", .string(token.tokenType)),
            ("issued_at", .number(token.issuedAt.secondsSinceEpoch)), ("expires_at", .number(token.expiresAt.secondsSinceEpoch)),
            ("scopes", .array(token.scopes.map(JSONValue.string))),
        ])
        return Secret(json.encoded)
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
