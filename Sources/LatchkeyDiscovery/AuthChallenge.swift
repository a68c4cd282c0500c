/// One challenge from a `WWW-Authenticate` (or `Proxy-Authenticate`) field, RFC 9110 §11.2 and §11.6.1.
///
/// A challenge carries either a `token68` (as in a `Negotiate` answer) or a list of auth-params; the parser
/// also keeps auth-params that a lenient server sends after a token68.
public struct AuthChallenge: Sendable {
    /// The auth-scheme as sent. Schemes are case-insensitive: use ``isBearer`` and friends, or compare lowercased.
    public var scheme: String
    /// The token68 form of the challenge, e.g. the server's half of a SPNEGO exchange.
    public var token68: String?
    /// The auth-params in order: names lowercased, values unquoted and unescaped. Duplicates are kept.
    public var parameters: [(name: String, value: String)]

    /// Creates a challenge; parameter names are lowercased so that parsed and built challenges compare equal.
    public init(
        scheme: String,
        token68: String? = nil,
        parameters: [(name: String, value: String)] = []
    ) {
        self.scheme = scheme
        self.token68 = token68
        self.parameters = parameters.map { (name: $0.name.lowercased(), value: $0.value) }
    }

    /// The value of the first parameter called `name`, compared case-insensitively.
    public func parameter(_ name: String) -> String? {
        let wanted = name.lowercased()
        return parameters.first { $0.name.lowercased() == wanted }?.value
    }

    public var isBearer: Bool { hasScheme("bearer") }
    public var isNegotiate: Bool { hasScheme("negotiate") }
    public var isBasic: Bool { hasScheme("basic") }
    public var isNTLM: Bool { hasScheme("ntlm") }

    func hasScheme(_ lowercasedName: String) -> Bool {
        scheme.lowercased() == lowercasedName
    }
}

extension AuthChallenge: Equatable {
    /// Schemes compare case-insensitively; token68 and parameters (names, values, order) compare exactly.
    public static func == (lhs: AuthChallenge, rhs: AuthChallenge) -> Bool {
        lhs.scheme.lowercased() == rhs.scheme.lowercased()
            && lhs.token68 == rhs.token68
            && lhs.parameters.count == rhs.parameters.count
            && zip(lhs.parameters, rhs.parameters).allSatisfy {
                $0.name == $1.name && $0.value == $1.value
            }
    }
}

extension AuthChallenge: CustomStringConvertible {
    public var description: String { headerValue }
}

extension AuthChallenge {
    /// The canonical header text: `scheme [token68] [, ]name=value, …` with each auth-param value written as a
    /// token when it is a valid token, else as a quoted-string with `"` and `\` escaped.
    public var headerValue: String {
        var text = scheme
        var separator = " "
        if let token68 {
            text += " " + token68
            separator = ", "
        }
        for parameter in parameters {
            text += separator + parameter.name + "=" + Self.quotedIfNeeded(parameter.value)
            separator = ", "
        }
        return text
    }

    static func quotedIfNeeded(_ value: String) -> String {
        if !value.isEmpty && value.utf8.allSatisfy(HTTPSyntax.isTokenCharacter) {
            return value
        }
        var quoted = "\""
        for character in value {
            if character == "\"" || character == "\\" { quoted.append("\\") }
            quoted.append(character)
        }
        quoted.append("\"")
        return quoted
    }
}

/// Character classes from RFC 9110 §5.6.
enum HTTPSyntax {
    /// tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA
    static func isTokenCharacter(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"),
            UInt8(ascii: "&"),
            UInt8(ascii: "'"), UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."),
            UInt8(ascii: "^"), UInt8(ascii: "_"), UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"):
            return true
        default:
            return false
        }
    }

    /// token68 = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
    static func isToken68Character(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"),
            UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"), UInt8(ascii: "+"),
            UInt8(ascii: "/"):
            return true
        default:
            return false
        }
    }

    /// SP and HTAB, plus CR and LF so that an obs-fold line break that reached us reads as whitespace.
    static func isWhitespace(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") || byte == UInt8(ascii: "\r")
            || byte == UInt8(ascii: "\n")
    }
}
