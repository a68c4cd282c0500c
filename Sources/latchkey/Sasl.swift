import ArgumentParser
import LatchkeyCore

struct Sasl: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the base64 SASL initial client response (XOAUTH2, or OAUTHBEARER of RFC 7628).",
        discussion: """
            For IMAP's AUTHENTICATE and SMTP's AUTH. The user defaults to the account's email; \
            OAUTHBEARER's host and port default to those of the account's url.
            """)

    /// The SASL mechanisms that carry an OAuth bearer token.
    enum Mechanism: String, CaseIterable, ExpressibleByArgument {
        case xoauth2
        case oauthbearer

        init?(argument: String) { self.init(rawValue: argument.lowercased()) }

        /// The registered name, as it goes on the wire (`AUTHENTICATE XOAUTH2 …`).
        var saslName: String { rawValue.uppercased() }
    }

    @Argument(help: "The account.", completion: AccountCompletion.kind) var account: String
    @Option(help: "xoauth2 (Google, Microsoft) or oauthbearer (RFC 7628).") var mechanism: Mechanism = .xoauth2
    @Option(help: "The user to authenticate as (default: the account's email).") var user: String?
    @Option(help: "OAUTHBEARER: the server's host name (default: the host of the account's url).") var host: String?
    @Option(help: "OAUTHBEARER: the server's port (default: the port of the account's url).") var port: Int?
    @Option(help: "Seconds the token must stay valid for.") var minValid: Int?
    @Flag(help: "Print {\"mechanism\", \"response\"} as JSON.") var json = false
    @OptionGroup var options: ClientOptions

    func validate() throws {
        try validateAccount(account)
        if let user, !SASLResponse.isPlain(user) {
            throw ValidationError("--user must not be empty or contain control characters.")
        }
        if let host, !SASLResponse.isPlain(host) {
            throw ValidationError("--host must not be empty or contain control characters.")
        }
        if let port, !(1...65535).contains(port) { throw ValidationError("--port must be from 1 to 65535.") }
    }

    func run() throws {
        let details = try options.call("GET", "/v1/accounts/\(account)")
        guard let user = user ?? details["email"]?.stringValue, !user.isEmpty else {
            fail(
                LatchkeyError(
                    .configuration, "Account '\(account)' has no email to authenticate as.",
                    hint: "Set email = \"…\" in [accounts.\(account)], or pass --user."))
        }
        guard SASLResponse.isPlain(user) else {
            fail(LatchkeyError(.configuration, "The email of account '\(account)' contains control characters."))
        }
        let server = details["url"]?.stringValue.flatMap(URLAuthority.init(url:))

        let answer = try options.call(
            "GET", "/v1/accounts/\(account)/token" + query([("min_valid", minValid.map(String.init))]))
        guard let token = answer["access_token"]?.stringValue else {
            fail(LatchkeyError(.internalError, "The daemon's answer has no access_token."))
        }
        let bytes: [UInt8]
        switch mechanism {
        case .xoauth2:
            bytes = SASLResponse.xoauth2(user: user, token: token)
        case .oauthbearer:
            bytes = SASLResponse.oauthBearer(
                user: user, host: host ?? server?.host, port: port ?? server?.port, token: token)
        }
        let response = Base64.encode(bytes)
        if json {
            return printOut(
                JSONValue.object([("mechanism", .string(mechanism.saslName)), ("response", .string(response))]).encoded)
        }
        printOut(response)
    }
}

/// The initial client responses, as bytes before base64.
enum SASLResponse {
    private static let separator = "\u{01}"

    /// XOAUTH2 (Google and Microsoft IMAP/SMTP): `user=U ^A auth=Bearer T ^A ^A`.
    static func xoauth2(user: String, token: String) -> [UInt8] {
        Array("user=\(user)\(separator)auth=Bearer \(token)\(separator)\(separator)".utf8)
    }

    /// OAUTHBEARER (RFC 7628 §3.1): the GS2 header `n,a=U,` then `^A`-ended key=value pairs
    /// (host and port only when known) and a final `^A`. See the example in §4.1.
    static func oauthBearer(user: String, host: String?, port: Int?, token: String) -> [UInt8] {
        var text = "n,a=\(saslName(user)),"
        if let host { text += "\(separator)host=\(host)" }
        if let port { text += "\(separator)port=\(port)" }
        text += "\(separator)auth=Bearer \(token)\(separator)\(separator)"
        return Array(text.utf8)
    }

    /// RFC 5801's saslname, as the GS2 header's authzid: ',' is "=2C" and '=' is "=3D".
    static func saslName(_ name: String) -> String {
        var out = ""
        for c in name {
            switch c {
            case ",": out += "=2C"
            case "=": out += "=3D"
            default: out.append(c)
            }
        }
        return out
    }

    /// Not empty and free of control characters (which would break the ^A framing).
    static func isPlain(_ text: String) -> Bool {
        !text.isEmpty && !text.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7F }
    }
}

/// The host and port of a URL such as an account's `url`, read without Foundation.
///
/// `scheme://[userinfo@]host[:port][/path…]`; an IPv6 host is written in brackets and kept
/// without them. The port is only what the URL says, never a scheme's default.
struct URLAuthority: Equatable {
    var host: String
    var port: Int?

    init(host: String, port: Int?) {
        self.host = host
        self.port = port
    }

    init?(url: String) {
        guard let colon = url.firstIndex(of: ":"), url[colon...].hasPrefix("://") else { return nil }
        var authority = url[url.index(colon, offsetBy: 3)...]
        if let end = authority.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) {
            authority = authority[..<end]
        }
        if let at = authority.lastIndex(of: "@") { authority = authority[authority.index(after: at)...] }
        self.init(hostAndPort: String(authority))
    }

    /// `host`, `host:port`, `[v6]` or `[v6]:port`, as git's `host=` sends it.
    init?(hostAndPort text: String) {
        var hostPart = Substring(text)
        var portPart: Substring?
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return nil }
            hostPart = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            if !rest.isEmpty {
                guard rest.hasPrefix(":") else { return nil }
                portPart = rest.dropFirst()
            }
        } else if let colon = text.lastIndex(of: ":") {
            hostPart = text[..<colon]
            portPart = text[text.index(after: colon)...]
        }
        guard !hostPart.isEmpty else { return nil }
        host = String(hostPart)
        if let portPart, !portPart.isEmpty {
            guard let port = CheckedNumber.decimal(portPart, maximum: 65535), port >= 1 else { return nil }
            self.port = port
        } else {
            port = nil
        }
    }
}
