import LatchkeyCore

/// The JSON documents of `GET …/header` and `…/token` (SPEC.md §4), in one place: the router
/// builds them per request, HotAnswers encodes them once per token.
enum AnswerDocuments {
    static func header(value: String, expiresAt: Timestamp) -> JSONValue {
        .object([
            ("header", .string("Authorization: " + value)), ("value", .string(value)),
            ("expires_at", .number(Double(expiresAt.unixSeconds))),
        ])
    }

    /// The token document without its last member, `expires_in`, which changes every second.
    static func tokenMembers(_ token: AccessToken) -> [(String, JSONValue)] {
        [
            ("access_token", .string(token.value.reveal())), ("token_type", .string(token.tokenType)),
            ("expires_at", .number(Double(token.expiresAt.unixSeconds))),
        ]
    }

    static func token(_ token: AccessToken, now: Timestamp) -> JSONValue {
        .object(tokenMembers(token) + [("expires_in", .number(Double(Int(clamping: token.remaining(at: now), to: 0...Int.max) ?? 0)))])
    }
}
