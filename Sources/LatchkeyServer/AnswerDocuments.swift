import LatchkeyBroker
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

    /// An ActiveSync account's header document: the `header` members plus the policy key
    /// (`X-MS-PolicyKey`), the DeviceId, DeviceType and protocol version the tool must use.
    static func activeSyncHeader(_ header: ActiveSyncHeader) -> JSONValue {
        guard case .object(let members) = self.header(value: header.authorization.reveal(), expiresAt: header.expiresAt)
        else { return .null }
        return .object(
            members + [
                ("policy_key_header", .string("X-MS-PolicyKey: " + header.policyKey)),
                ("policy_key", .string(header.policyKey)),
                ("device_id", .string(header.deviceID)), ("device_type", .string(header.deviceType)),
                ("protocol_version", .string(header.version)),
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
        .object(
            tokenMembers(token) + [
                ("expires_in", .number(Double(Int(clamping: token.remaining(at: now), to: 0...Int.max) ?? 0)))
            ])
    }
}
