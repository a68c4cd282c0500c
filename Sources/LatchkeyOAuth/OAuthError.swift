import LatchkeyCore

/// A failed OAuth exchange, split the way the broker acts on it (pizauth's `RefreshKind`):
/// transient failures are retried with backoff, permanent ones need the person.
///
/// Texts come from fixed words, the provider's error code and its `error_description`; never
/// from a request body, and never a raw answer body (an HTML page may echo anything).
public struct OAuthError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// The provider answered with an OAuth error (`error` field).
        case provider(code: String)
        /// No answer: network, TLS, timeout. The HTTP error kind is kept for diagnosis.
        case transport(HTTPFailure)
        /// 5xx, 429 and other answers that are not OAuth errors.
        case httpStatus(Int)
        /// An answer that cannot be read (HTML, empty body, broken JSON, missing fields).
        case invalidResponse
    }

    public enum HTTPFailure: String, Sendable, Equatable {
        case resolve, connect, timeout, tls, responseTooLarge, cancelled, invalidURL, other
    }

    public var kind: Kind
    public var message: String
    /// `error_description`, trimmed (Microsoft puts `AADSTS…` codes there).
    public var providerDescription: String?
    /// Microsoft's `error_codes`, or the AADSTS number found in the description.
    public var errorCodes: [Int]
    /// The provider's `Retry-After`, as read by `retryAfter(header:)`: whole seconds from 0 to
    /// `TokenMachine.maximumRetryAfter`, never NaN or infinite.
    public var retryAfter: Double?
    public var httpStatus: Int?
    /// Microsoft's `suberror` (e.g. `bad_token`, `message_only`), when the answer has one.
    public var suberror: String?

    public init(
        kind: Kind, message: String, providerDescription: String? = nil, errorCodes: [Int] = [],
        retryAfter: Double? = nil, httpStatus: Int? = nil
    ) {
        self.kind = kind
        self.message = message
        self.providerDescription = providerDescription
        self.errorCodes = errorCodes
        self.retryAfter = retryAfter
        self.httpStatus = httpStatus
    }

    public static func invalidResponse(_ message: String, status: Int? = nil) -> OAuthError {
        OAuthError(kind: .invalidResponse, message: message, httpStatus: status)
    }

    /// A `Retry-After` value as delay-seconds (RFC 9110 §10.2.3: ASCII digits only), read as at
    /// most `TokenMachine.maximumRetryAfter` (one hour). Anything else — an HTTP-date, `inf`,
    /// `nan`, `1e19`, `-1`, other scripts' digits — is no hint: nil, and the backoff applies.
    public static func retryAfter(header: String?) -> Double? {
        guard let header else { return nil }
        let maximum = Int(TokenMachine.maximumRetryAfter)
        return CheckedNumber.decimal(header.trimmed, clampedTo: maximum).map(Double.init)
    }

    /// This error, when it is about an answer that cannot be read, as a malformed answer of
    /// `provider` (a host name), so the person knows whom to blame.
    public func malformed(from provider: String) -> OAuthError {
        guard kind == .invalidResponse, !message.includes("malformed answer") else { return self }
        var copy = self
        copy.message = "\(provider) sent a malformed answer: \(message)"
        return copy
    }

    public var code: String? {
        if case .provider(let code) = kind { return code }
        return nil
    }

    /// Whether retrying later can succeed without the person.
    public var isTransient: Bool {
        switch kind {
        case .transport(let failure): return failure != .invalidURL
        case .httpStatus(let status): return status >= 500 || status == 429 || status == 408
        // An answer that cannot be read (truncated JSON, an HTML page, absurd values) is the
        // provider's fault or the network's; a new sign-in would not fix it: retry later.
        case .invalidResponse: return true
        case .provider(let code):
            return code == "temporarily_unavailable" || code == "server_error" || code == "slow_down"
                || code == "authorization_pending"
        }
    }

    public var description: String {
        var text = message
        if let providerDescription, !providerDescription.isEmpty { text += " (\(providerDescription))" }
        return text
    }
}
