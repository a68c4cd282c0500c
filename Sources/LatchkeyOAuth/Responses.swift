import LatchkeyCore

/// The device authorization response (RFC 8628 §3.2), read tolerantly: `verification_url`
/// (Google, older Microsoft), numbers sent as strings (Microsoft), Microsoft's `message`.
public struct DeviceAuthorization: Sendable, Equatable {
    public var deviceCode: Secret<String>
    /// Shown to the person; never logged.
    public var userCode: String
    public var verificationURI: String
    public var verificationURIComplete: String?
    public var expiresIn: Double
    public var interval: Double
    public var message: String?

    public init(json: JSONValue) throws(OAuthError) {
        guard json.isObject else {
            throw OAuthError.invalidResponse("the device authorization answer is not a JSON object")
        }
        guard let deviceCode = json["device_code"]?.stringValue, !deviceCode.isEmpty else {
            throw OAuthError.invalidResponse("the device authorization answer has no device_code")
        }
        guard let userCode = json["user_code"]?.stringValue, !userCode.isEmpty else {
            throw OAuthError.invalidResponse("the device authorization answer has no user_code")
        }
        guard let uri = (json["verification_uri"] ?? json["verification_url"])?.stringValue, !uri.isEmpty else {
            throw OAuthError.invalidResponse("the device authorization answer has no verification_uri")
        }
        self.deviceCode = Secret(deviceCode)
        self.userCode = userCode
        self.verificationURI = uri
        self.verificationURIComplete =
            (json["verification_uri_complete"] ?? json["verification_url_complete"])?.stringValue
        guard let expires = json["expires_in"]?.doubleValue else {
            throw OAuthError.invalidResponse("the device authorization answer has no valid expires_in")
        }
        do {
            // A code that lives over an hour is read as one: the person finishes well before.
            self.expiresIn = min(
                try CheckedNumber.seconds(
                    expires, field: "the device authorization answer's expires_in",
                    in: 1...TokenResponse.plausibleSeconds), 3600)
        } catch {
            throw OAuthError.invalidResponse(error.description)
        }
        // RFC 8628 §3.2: 5 seconds when absent; a zero or absurd interval is not trusted.
        let interval = json["interval"]?.doubleValue ?? 5
        self.interval = (1...60).contains(interval) ? interval : 5
        self.message = json["message"]?.stringValue
    }
}

/// A successful token response (RFC 6749 §5.1).
public struct TokenResponse: Sendable, Equatable {
    public var accessToken: Secret<String>
    public var tokenType: String
    public var expiresIn: Double
    public var refreshToken: Secret<String>?
    public var scope: [String]?
    public var idToken: Secret<String>?

    /// Longest access-token life believed; a provider's "ten years" is read as one.
    public static let maximumLifetime: Double = 365 * 86_400
    /// Assumed when the provider sends no `expires_in` (it is only RECOMMENDED).
    public static let assumedLifetime: Double = 3600
    /// The widest number of seconds a provider's answer may carry: 2^53, the largest whole
    /// number a JSON number holds exactly. Beyond it the answer is malformed, not generous.
    public static let plausibleSeconds = Double(1 << 53)

    public init(
        accessToken: Secret<String>, tokenType: String = "Bearer", expiresIn: Double,
        refreshToken: Secret<String>? = nil, scope: [String]? = nil
    ) {
        self.accessToken = accessToken
        self.tokenType = tokenType
        self.expiresIn = expiresIn
        self.refreshToken = refreshToken
        self.scope = scope
    }

    public init(json: JSONValue) throws(OAuthError) {
        guard json.isObject else { throw OAuthError.invalidResponse("the token answer is not a JSON object") }
        guard let access = json["access_token"]?.stringValue, !access.isEmpty else {
            throw OAuthError.invalidResponse("the token answer has no access_token")
        }
        let type = json["token_type"]?.stringValue ?? "Bearer"
        guard type.lowercased() == "bearer" else {
            throw OAuthError.invalidResponse("the provider issued a '\(type)' token; Latchkey supports Bearer tokens")
        }
        var lifetime = Self.assumedLifetime
        if let raw = json["expires_in"], raw != .null {
            guard let number = raw.doubleValue else {
                throw OAuthError.invalidResponse("the token answer's expires_in is not a number")
            }
            let seconds: Double
            do {
                seconds = try CheckedNumber.seconds(
                    number, field: "the token answer's expires_in", in: -Self.plausibleSeconds...Self.plausibleSeconds)
            } catch {
                throw OAuthError.invalidResponse(error.description)
            }
            guard seconds > 0 else {
                throw OAuthError.invalidResponse(
                    "the token answer's expires_in is \(CheckedNumber.describe(seconds)): the token would be expired at once"
                )
            }
            lifetime = min(seconds, Self.maximumLifetime)
        }
        self.accessToken = Secret(access)
        self.tokenType = "Bearer"
        self.expiresIn = lifetime
        self.refreshToken = json["refresh_token"]?.stringValue.flatMap { $0.isEmpty ? nil : Secret($0) }
        self.scope = json["scope"]?.stringValue.map { $0.split(separator: " ").map(String.init) }
        self.idToken = json["id_token"]?.stringValue.map(Secret.init)
    }

    public func accessToken(issuedAt now: Timestamp, requestedScopes: [String]) -> AccessToken {
        AccessToken(
            value: accessToken, tokenType: tokenType, issuedAt: now, expiresAt: now + expiresIn,
            scopes: scope ?? requestedScopes)
    }
}

/// One poll of the token endpoint during a device sign-in (RFC 8628 §3.5).
public enum DevicePoll: Sendable, Equatable {
    case pending
    case slowDown
    case granted(TokenResponse)
}
