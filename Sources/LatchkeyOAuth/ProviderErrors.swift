/// Provider error codes in plain words: the generic OAuth errors (RFC 6749 §5.2, RFC 8628
/// §3.5, OIDC) and Microsoft's AADSTS codes. Used by every error message.
public enum ProviderErrors {
    public static let oauth: [String: String] = [
        "access_denied": "the sign-in was declined at the provider",
        "expired_token": "the sign-in code expired before the sign-in was completed",
        "invalid_grant": "the provider no longer accepts this sign-in (the session was revoked, expired or replaced)",
        "invalid_client": "the provider does not know this client_id, or refuses it",
        "unauthorized_client": "this client is not allowed to use this kind of sign-in",
        "invalid_scope": "the provider refuses one of the requested scopes",
        "invalid_request": "the provider found the request malformed",
        "unsupported_grant_type": "the provider does not support this kind of sign-in",
        "interaction_required": "the provider requires the person to sign in again interactively",
        "login_required": "the provider requires the person to sign in again",
        "consent_required": "the provider needs the person's or an administrator's consent",
        "temporarily_unavailable": "the provider is temporarily unavailable",
        "server_error": "the provider had an internal error",
        "authorization_declined": "the sign-in was declined at the provider",
        "bad_verification_code": "the sign-in code is not valid",
    ]

    public static let aadsts: [Int: String] = [
        50076: "multi-factor authentication is required by the tenant",
        50079: "the tenant requires the person to register for multi-factor authentication",
        50097: "the tenant requires a compliant or registered device",
        50126: "the user name or password is wrong",
        50158: "an external security challenge (Conditional Access) was not satisfied",
        50173: "the sign-in session was revoked (the password changed or an administrator revoked sessions)",
        53003: "Conditional Access policy blocks this sign-in",
        65001: "the application has no consent for this user or tenant",
        70000: "the sign-in grant is invalid or was revoked",
        70008: "the sign-in code or refresh token has expired",
        70016: "the sign-in is not yet complete",
        70019: "the sign-in code expired",
        70020: "the sign-in code expired",
        70043: "the session ended because of the tenant's sign-in frequency policy",
        700016: "the application (client_id) is not registered in this tenant",
        700082: "the session expired after 90 days of inactivity",
        7000218: "the request needs a client secret or assertion (the app is not a public client)",
        90002: "the tenant does not exist",
        50011: "the redirect URI is not registered for this application",
        50020: "the user's account is not in this tenant",
        50034: "the user's account does not exist in this tenant",
    ]

    /// The plain-words reason for a provider error.
    public static func explain(code: String, errorCodes: [Int]) -> String {
        for number in errorCodes {
            if let text = aadsts[number] { return "\(text) (AADSTS\(number))" }
        }
        return oauth[code] ?? "the provider refused the request (\(code))"
    }

    /// The first `AADSTSnnnnn` number in a text.
    public static func aadstsCode(in text: String) -> Int? {
        guard let range = text.firstRange(of: "AADSTS") else { return nil }
        let digits = text[range.upperBound...].prefix { $0.isNumber }
        return Int(digits)
    }
}
