import LatchkeyCore
import LatchkeyHTTP

/// Where an Exchange Autodiscover walk ended: the service URL for an e-mail address.
public struct AutodiscoverResult: Sendable, Equatable {
    public enum Service: String, Sendable {
        case activeSync = "ActiveSync"
        case ews = "EWS"
    }

    public var service: Service
    public var url: String
    /// The address the answer is for, after any `redirectAddr`.
    public var email: String
    /// Each request made, in order, with what it answered: shown to the person and written
    /// into the config as comments.
    public var trail: [String]
}

/// Exchange Autodiscover (SPEC.md §5 step 1): v2 JSON (`/autodiscover/autodiscover.json/v1.0/
/// {email}?Protocol=ActiveSync`, then `EWS`), then the POX `autodiscover.xml` POST with the
/// mobilesync and then the outlook response schema, at each candidate host in turn. Redirects
/// (HTTP 302 from v2, `Redirect`/`redirectAddr` and `redirectUrl` from POX) are followed over
/// https only, at most `maximumHops` in all, and a loop is named as one.
public struct Autodiscover: Sendable {
    public static let mobileSyncResponseSchema =
        "http://schemas.microsoft.com/exchange/autodiscover/mobilesync/responseschema/2006"
    public static let outlookResponseSchema =
        "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a"
    /// Exchange Online answers v2 requests for any address it hosts.
    public static let wellKnownHost = "https://outlook.office365.com"

    public let http: HTTPClient
    public var options: HTTPOptions
    public var maximumHops = 10

    public init(http: HTTPClient, options: HTTPOptions) {
        self.http = http
        self.options = options
    }

    /// The hosts to ask, in order: a configured one alone (`https://host` or a full URL whose
    /// origin is taken), else `https://{domain}`, `https://autodiscover.{domain}` and Exchange
    /// Online's well-known host.
    public static func candidates(email: String, configured: String?) -> [String] {
        if let configured { return [origin(of: configured) ?? configured] }
        guard let domain = domain(of: email) else { return [] }
        return ["https://\(domain)", "https://autodiscover.\(domain)", wellKnownHost]
    }

    public func find(email: String, configured: String? = nil) async throws(LatchkeyError) -> AutodiscoverResult {
        guard Self.domain(of: email) != nil else {
            throw LatchkeyError(
                .badRequest, "'\(email)' is not an e-mail address.",
                hint: "Give the address you sign in with, such as alice@contoso.example.")
        }
        var walk = AutodiscoverWalk(autodiscover: self, configured: configured)
        return try await walk.run(email: email)
    }

    static func domain(of email: String) -> String? {
        guard let at = email.lastIndex(of: "@") else { return nil }
        let domain = email[email.index(after: at)...].lowercased()
        let local = email[..<at]
        guard !local.isEmpty, !domain.isEmpty,
            domain.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "." || $0 == "-" })
        else {
            return nil
        }
        return domain
    }

    /// `scheme://authority` of a URL.
    static func origin(of url: String) -> String? {
        guard let schemeEnd = url.firstOccurrence(of: "://") else { return nil }
        let authority = url[schemeEnd.upperBound...].prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        guard !authority.isEmpty else { return nil }
        return String(url[..<schemeEnd.upperBound]) + authority
    }

    /// A `Location` resolved against the URL it answered (absolute, or a path on the same origin).
    static func resolve(_ location: String, against url: String) -> String {
        if location.includes("://") { return location }
        guard let origin = origin(of: url) else { return location }
        if location.hasPrefix("/") { return origin + location }
        let path = url.dropFirst(origin.count).prefix { $0 != "?" && $0 != "#" }
        let folder = path.lastIndex(of: "/").map { path[...$0] } ?? "/"
        return origin + folder + location
    }

    /// The address as a path segment: unreserved characters and '@' as they are, the rest %XX.
    static func pathSegment(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            let c = Character(Unicode.Scalar(byte))
            if c.isASCII && (c.isLetter || c.isNumber || "-._~@+".contains(c)) {
                out.append(c)
            } else {
                out +=
                    "%" + String(byte >> 4, radix: 16, uppercase: true) + String(byte & 15, radix: 16, uppercase: true)
            }
        }
        return out
    }

    /// The largest answer read: the HTTP client's default response cap.
    public static let maximumAnswerBytes = HTTPOptions().maximumResponseBytes

    /// Reads one POX answer's raw bytes: what it says, or a typed error naming what is wrong
    /// and where. Linear in the answer's size; the one entry point for fuzzing the reader.
    public static func readPOX(_ bytes: [UInt8]) throws(AutodiscoverXMLError) -> POXAnswer {
        try POXAnswer.read(bytes)
    }

    /// What a POX answer says, in words (for fuzzing and tracing the reader); nil when it is
    /// not a readable Autodiscover answer.
    public static func describePOX(_ bytes: [UInt8]) -> String? {
        (try? POXAnswer.read(bytes)).map { "\($0)" }
    }

    static func poxRequest(email: String, schema: String) -> String {
        let requestSchema =
            schema == mobileSyncResponseSchema
            ? "http://schemas.microsoft.com/exchange/autodiscover/mobilesync/requestschema/2006"
            : "http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006"
        return """
            <?xml version="1.0" encoding="utf-8"?>
            <Autodiscover xmlns="\(requestSchema)">
              <Request>
                <EMailAddress>\(XMLTree.escape(email))</EMailAddress>
                <AcceptableResponseSchema>\(schema)</AcceptableResponseSchema>
              </Request>
            </Autodiscover>
            """
    }
}
