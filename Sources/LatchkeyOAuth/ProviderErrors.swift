import LatchkeyCore

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

    /// What to do about each error: the remedy shown by `diagnose`, `status` and messages.
    public static let oauthRemedies: [String: String] = [
        "access_denied": "Run `latchkey login NAME` again and approve the request.",
        "expired_token": "Run `latchkey login NAME` again and finish within the time shown.",
        "invalid_grant": "Run `latchkey login NAME` to sign in again.",
        "invalid_client": "Check client_id in the account's config against the provider's app registration.",
        "unauthorized_client":
            "Enable this flow for the app at the provider (e.g. \"Allow public client flows\"), or use the other flow.",
        "invalid_scope": "Check scopes in the account's config against what the provider offers.",
        "invalid_request":
            "Check the account's endpoints and client_id; run `latchkey diagnose NAME --trace` to see the request.",
        "unsupported_grant_type": "Use the other flow (`latchkey login NAME --method browser` or `--method device`).",
        "interaction_required": "Run `latchkey login NAME` to sign in again with MFA.",
        "login_required": "Run `latchkey login NAME` to sign in again.",
        "consent_required": "Ask an administrator to grant consent to the app, then run `latchkey login NAME`.",
        "temporarily_unavailable": "Wait; Latchkey retries by itself.",
        "server_error": "Wait; Latchkey retries by itself. If it lasts, check the provider's status page.",
        "authorization_declined": "Run `latchkey login NAME` again and approve the request.",
        "bad_verification_code": "Run `latchkey login NAME` again and type the code exactly as shown.",
    ]

    public static let aadstsRemedies: [Int: String] = [
        50076: "Run `latchkey login NAME` and complete the MFA prompt.",
        50079: "Register a second factor at https://aka.ms/mfasetup, then run `latchkey login NAME`.",
        50097:
            "Sign in from a device the tenant manages: `latchkey login NAME --method browser` on that device, or ask IT.",
        50126: "Check the user name and password; reset the password if needed, then sign in again.",
        50158: "Run `latchkey login NAME --method browser` and complete the extra challenge in the browser.",
        50173: "Run `latchkey login NAME` to sign in again.",
        53003:
            "Run `latchkey login NAME --method browser` on a device the policy accepts, or ask IT which policy applies.",
        65001: "Ask a tenant administrator to grant consent to the app (client_id), then run `latchkey login NAME`.",
        70000: "Run `latchkey login NAME` to sign in again.",
        70008: "Run `latchkey login NAME` to sign in again.",
        70016: "Finish the sign-in in the browser; Latchkey keeps waiting.",
        70019: "Run `latchkey login NAME` again and finish within the time shown.",
        70020: "Run `latchkey login NAME` again and finish within the time shown.",
        70043: "Run `latchkey login NAME`; the tenant's sign-in frequency policy asks for this regularly.",
        700016:
            "Check client_id and tenant in the account's config; the app must be registered in (or consented to by) this tenant.",
        700082: "Run `latchkey login NAME` to sign in again.",
        7000218:
            "Mark the app registration as a public client (\"Allow public client flows\"); Latchkey keeps no client secret.",
        90002: "Check tenant in the account's config (a tenant id, a verified domain, organizations or common).",
        50011: "Register http://127.0.0.1 (any port) as a redirect URI of the app, or use the device flow.",
        50020: "Sign in with an account of this tenant, or set tenant to the account's own.",
        50034: "Check the e-mail address / user name; the account does not exist in this tenant.",
    ]

    /// What to do about a provider error.
    public static func remedy(code: String, errorCodes: [Int], account: String = "NAME") -> String {
        let text =
            errorCodes.lazy.compactMap { aadstsRemedies[$0] }.first ?? oauthRemedies[code]
            ?? "Run `latchkey diagnose \(account) --trace` to see the exchange."
        return text.replacingEvery("NAME", with: account)
    }

    /// The plain-words reason for a provider error.
    public static func explain(code: String, errorCodes: [Int]) -> String {
        for number in errorCodes {
            if let text = aadsts[number] { return "\(text) (AADSTS\(number))" }
        }
        return oauth[code] ?? "the provider refused the request (\(code))"
    }

    /// The first `AADSTSnnnnn` number in a text.
    public static func aadstsCode(in text: String) -> Int? {
        guard let range = text.firstOccurrence(of: "AADSTS") else { return nil }
        let digits = text.utf8[range.upperBound...].prefix { (0x30...0x39).contains($0) }
        return CheckedNumber.decimal(Substring(digits), maximum: 99_999_999)
    }
}
