import LatchkeyCore
import LatchkeyDiscovery
import Logging

/// What happens after a client reported a challenge.
public struct ChallengeOutcome: Sendable, Equatable {
    /// "refresh": the next token comes from a refresh (carrying the claims); "signin": a new
    /// interactive sign-in is needed (`latchkey login NAME`).
    public var action: String
    public var state: String
    public var message: String
}

extension Broker {
    /// A sync client got a 401 with this `WWW-Authenticate` (SPEC.md §4, `…/challenge`). A
    /// Bearer `error="insufficient_claims"` (Conditional Access, continuous access evaluation)
    /// or `invalid_token` means the cached token must not be used again: every cached token of
    /// the account is dropped, and `claims` (base64 or JSON) rides along on the next refresh or
    /// sign-in until one succeeds.
    public func reportChallenge(account name: String, wwwAuthenticate: String, client: ClientIdentity? = nil)
        async throws(LatchkeyError) -> ChallengeOutcome
    {
        guard let config = accounts[name]?.config else { throw .unknownAccount(name) }
        try authorize(name, config, client)
        guard config.method == .oauth || config.method == .auto else {
            throw LatchkeyError(
                .badRequest,
                "'\(name)' uses the \(config.method.rawValue) method; only OAuth accounts act on Bearer challenges.")
        }
        guard let bearer = WWWAuthenticate.parse([wwwAuthenticate]).first(where: \.isBearer) else {
            throw LatchkeyError(
                .badRequest, "The challenge holds no Bearer challenge, so there is nothing Latchkey can act on.",
                hint: "Pass the WWW-Authenticate value of the 401 exactly as the service sent it.")
        }
        let error = bearer.parameter("error")
        let claims = try bearer.parameter("claims").map(Self.claimsParameter)
        guard claims != nil || error == "insufficient_claims" || error == "invalid_token" else {
            throw LatchkeyError(
                .badRequest, "The Bearer challenge names no error Latchkey can act on (error=\"\(error ?? "")\").",
                hint: "Latchkey acts on error=\"insufficient_claims\" (with claims) and error=\"invalid_token\".")
        }
        accounts[name]?.oauth.challenged(claims: claims)
        try? await store.delete(account: name, kind: .accessToken)
        logger.info(
            "challenge reported",
            metadata: [
                "account": "\(name)", "error": "\(error ?? "-")", "claims": "\(claims != nil)",
            ])
        guard let account = accounts[name] else { throw .unknownAccount(name) }
        let state = account.oauth.machine.state.rawValue
        if account.oauth.canRefresh {
            return ChallengeOutcome(
                action: "refresh", state: state,
                message: "The token the service refused was dropped; the next request gets a new one"
                    + (claims == nil ? "." : " from a refresh that carries the claims the service asked for."))
        }
        return ChallengeOutcome(
            action: "signin", state: state,
            message: "The token was dropped and a new sign-in is needed: run `latchkey login \(name)`"
                + (claims == nil ? "." : "; it will carry the claims the service asked for."))
    }

    /// The `claims` request parameter from a challenge's `claims`: base64 (Microsoft's form) of
    /// a JSON object, or the JSON itself.
    static func claimsParameter(_ raw: String) throws(LatchkeyError) -> String {
        let text: String
        if raw.hasPrefix("{") {
            text = raw
        } else if let bytes = Base64.decode(raw) {
            text = String(decoding: bytes, as: UTF8.self)
        } else {
            throw LatchkeyError(.badRequest, "The challenge's claims are neither base64 nor JSON.")
        }
        guard let json = try? JSONValue.parse(text), json.isObject else {
            throw LatchkeyError(.badRequest, "The challenge's claims are not a JSON object.")
        }
        return json.encoded
    }
}
