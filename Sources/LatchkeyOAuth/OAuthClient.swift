import LatchkeyCore
import LatchkeyHTTP

/// The OAuth 2.0 exchanges: discovery, device authorization (RFC 8628), token requests and
/// refresh (RFC 6749), revocation (RFC 7009). It performs exchanges; it never decides *when*.
public struct OAuthClient: Sendable {
    public let http: HTTPClient

    public init(http: HTTPClient) {
        self.http = http
    }

    /// OIDC discovery, falling back to RFC 8414 metadata.
    public func discover(issuer: String, options: HTTPOptions) async throws(OAuthError) -> ProviderMetadata {
        var lastError: OAuthError?
        for url in Self.discoveryURLs(issuer: issuer) {
            do {
                return try await metadata(at: url, options: options)
            } catch {
                lastError = error
                if error.isTransient, case .transport = error.kind { throw error }
            }
        }
        throw lastError!
    }

    /// One discovery document, from exactly `url`; the caller checks its issuer.
    public func metadata(at url: String, options: HTTPOptions) async throws(OAuthError) -> ProviderMetadata {
        try await answer(HTTPRequest(url: url, headers: [("Accept", "application/json")]), options: options) {
            (json) throws(OAuthError) in try ProviderMetadata(discoveryDocument: json)
        }
    }

    /// Where discovery looks for an issuer's metadata, in order: OpenID Connect, then RFC 8414.
    public static func discoveryURLs(issuer: String) -> [String] {
        let base = issuer.hasSuffix("/") ? String(issuer.dropLast()) : issuer
        return [base + "/.well-known/openid-configuration", base + "/.well-known/oauth-authorization-server"]
    }

    public func startDeviceAuthorization(
        endpoint: String, clientID: String, scopes: [String], claims: String? = nil, options: HTTPOptions
    ) async throws(OAuthError) -> DeviceAuthorization {
        var fields = [("client_id", clientID), ("scope", scopes.joined(separator: " "))]
        if let claims { fields.append(("claims", claims)) }
        return try await answer(.form(endpoint, fields), options: options, reading: DeviceAuthorization.init(json:))
    }

    /// One poll. `authorization_pending` and `slow_down` are answers here, not errors;
    /// `access_denied`, `expired_token` and the rest are thrown.
    public func pollDeviceAuthorization(
        tokenEndpoint: String, clientID: String, deviceCode: Secret<String>, options: HTTPOptions
    ) async throws(OAuthError) -> DevicePoll {
        let fields = [
            ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"), ("device_code", deviceCode.reveal()),
            ("client_id", clientID),
        ]
        do {
            return .granted(
                try await answer(.form(tokenEndpoint, fields), options: options, reading: TokenResponse.init(json:)))
        } catch {
            switch error.code {
            case "authorization_pending": return .pending
            case "slow_down": return .slowDown
            default: throw error
            }
        }
    }

    /// The refresh_token grant. With rotation the answer carries a new refresh token, which
    /// the caller must store before handing out the access token.
    public func refresh(
        tokenEndpoint: String, clientID: String, refreshToken: Secret<String>, scopes: [String], claims: String? = nil,
        options: HTTPOptions
    ) async throws(OAuthError) -> TokenResponse {
        var fields = [
            ("grant_type", "refresh_token"), ("refresh_token", refreshToken.reveal()), ("client_id", clientID),
        ]
        if !scopes.isEmpty { fields.append(("scope", scopes.joined(separator: " "))) }
        if let claims { fields.append(("claims", claims)) }
        return try await answer(.form(tokenEndpoint, fields), options: options, reading: TokenResponse.init(json:))
    }

    /// RFC 7009 revocation. A provider that does not know the token answers 200 as well.
    public func revoke(endpoint: String, clientID: String, token: Secret<String>, hint: String, options: HTTPOptions)
        async throws(OAuthError)
    {
        _ = try await exchange(
            .form(endpoint, [("token", token.reveal()), ("token_type_hint", hint), ("client_id", clientID)]),
            options: options, allowEmpty: true)
    }

    /// Sends a request and reads a JSON object out of the answer, turning everything else into
    /// an `OAuthError` with plain words.
    func exchange(_ request: HTTPRequest, options: HTTPOptions, allowEmpty: Bool = false) async throws(OAuthError)
        -> JSONValue
    {
        let response: HTTPResponse
        do {
            response = try await http.send(request, options: options)
        } catch {
            throw OAuthError(
                kind: .transport(OAuthError.HTTPFailure(rawValue: error.kind.rawValue) ?? .other),
                message: Self.describe(error, url: request.url))
        }
        return try Self.read(response, allowEmpty: allowEmpty, provider: Self.providerName(request.url))
    }

    /// `exchange`, then `reader` on its JSON: a reader's complaint about the answer (a missing
    /// field, an absurd number) names the provider and says the answer was malformed.
    func answer<T>(
        _ request: HTTPRequest, options: HTTPOptions, reading reader: (JSONValue) throws(OAuthError) -> T
    ) async throws(OAuthError) -> T {
        let json = try await exchange(request, options: options)
        do {
            return try reader(json)
        } catch {
            throw error.malformed(from: Self.providerName(request.url))
        }
    }

    /// The provider as messages name it: the host of the endpoint.
    static func providerName(_ url: String) -> String {
        URLParts(url)?.host ?? "the provider"
    }

    /// An HTTP failure in plain words, naming the host.
    public static func describe(_ error: HTTPError, url: String) -> String {
        let host = providerName(url)
        switch error.kind {
        case .resolve: return "cannot resolve the host name \(host): \(error.message)"
        case .connect: return "cannot connect to \(host): \(error.message)"
        case .timeout: return "\(host) did not answer in time: \(error.message)"
        case .tls: return "the TLS connection to \(host) failed: \(error.message)"
        case .responseTooLarge: return "\(host) \(error.message)"
        case .cancelled: return "the request to \(host) was cancelled"
        case .invalidURL: return "the URL for \(host) is not usable: \(error.message)"
        case .other: return "the request to \(host) failed: \(error.message)"
        }
    }

    /// A provider's text as it may be shown: its first line, without control characters (no
    /// terminal escapes reach a terminal, a notification or a command line), at most 300 characters.
    static func printable(_ text: String) -> String {
        let firstLine = text.split(whereSeparator: \.isNewline).first.map(String.init) ?? ""
        let clean = String(
            String.UnicodeScalarView(
                firstLine.unicodeScalars.filter { $0.value >= 0x20 && !(0x7F...0x9F).contains($0.value) }))
        return clean.count > 300 ? String(clean.prefix(300)) + "…" : clean
    }

    /// Turns an HTTP answer into a JSON object or an `OAuthError`.
    public static func read(_ response: HTTPResponse, allowEmpty: Bool = false, provider: String = "the provider")
        throws(OAuthError) -> JSONValue
    {
        let header = response.header("Retry-After")
        let retryAfter = OAuthError.retryAfter(header: header)
        // A hint that cannot be read is ignored (the backoff applies) and said so.
        let ignored =
            header != nil && retryAfter == nil ? "; its Retry-After is not a number of seconds and was ignored" : ""
        let status = response.status
        let isSuccess = (200..<300).contains(status)
        if response.body.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) {
            if isSuccess && allowEmpty { return .object([]) }
            if isSuccess { throw .invalidResponse("the provider's answer was empty (HTTP \(status))", status: status) }
            throw OAuthError(
                kind: .httpStatus(status), message: "the provider answered HTTP \(status) with an empty body\(ignored)",
                retryAfter: retryAfter, httpStatus: status)
        }
        let json: JSONValue
        do {
            json = try JSONValue.parse(response.body)
        } catch {
            let html = response.contentType.includes("html") || response.body.prefix(64).contains(UInt8(ascii: "<"))
            if html && !isSuccess {
                throw OAuthError(
                    kind: .httpStatus(status),
                    message: "the provider answered HTTP \(status) with an HTML page instead of JSON\(ignored)",
                    retryAfter: retryAfter, httpStatus: status)
            }
            if html {
                throw .invalidResponse("the provider answered with an HTML page instead of JSON", status: status)
            }
            // Broken JSON (cut off, leading zeros, 1e400, a member twice): whatever its status
            // says, the answer cannot be trusted to mean one thing. Retried, like any unreadable answer.
            var failure = OAuthError.invalidResponse(
                "\(provider) sent a malformed answer (HTTP \(status)): text that is not JSON (\(error.reason) at byte \(error.offset))",
                status: status)
            failure.retryAfter = retryAfter
            throw failure
        }
        if let code = json["error"]?.stringValue, !isSuccess || json["access_token"] == nil {
            let description = json["error_description"]?.stringValue.map(Self.printable)
            var codes = (json["error_codes"]?.arrayValue ?? []).compactMap(\.intValue)
            if codes.isEmpty, let description, let aadsts = ProviderErrors.aadstsCode(in: description) {
                codes = [aadsts]
            }
            var failure = OAuthError(
                kind: .provider(code: code), message: ProviderErrors.explain(code: code, errorCodes: codes),
                providerDescription: description, errorCodes: codes, retryAfter: retryAfter, httpStatus: status)
            failure.suberror = json["suberror"]?.stringValue.map(Self.printable)
            throw failure
        }
        guard isSuccess else {
            throw OAuthError(
                kind: .httpStatus(status), message: "the provider answered HTTP \(status)\(ignored)",
                retryAfter: retryAfter, httpStatus: status)
        }
        return json
    }
}
