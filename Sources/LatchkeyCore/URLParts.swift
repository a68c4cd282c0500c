/// Why a URL is not usable. Names the part at fault in plain words; never repeats the user
/// information (it may hold a password).
public struct URLProblem: Error, Sendable, Equatable, CustomStringConvertible {
    public var reason: String

    public init(_ reason: String) {
        self.reason = reason
    }

    public var description: String { reason }
}

/// The parts of a URL that Latchkey needs: scheme, user information, host, port. The one URL
/// reader of the code base: every module that names a host, checks "https, or plain http only
/// to loopback" or derives a service principal reads URLs here.
///
/// Conservative on purpose (RFC 3986 §3.2, read strictly): a host is ASCII letters, digits,
/// `-`, `.` and `_`, or an IPv6 literal in brackets; a port is 1-65535 in ASCII digits with no
/// sign. A host that is percent-encoded or holds any other character (an Arabic-Indic `٣` is
/// not the digit 3) is refused, so no two readers of the same URL can disagree on its host.
public struct URLParts: Sendable, Equatable {
    /// Lower case.
    public var scheme: String
    /// What came before `@` in the authority, as written. Never shown in messages.
    public var userinfo: String?
    /// Lower case; an IPv6 literal without its brackets.
    public var host: String
    public var port: Int?

    /// The parts of `url`, or nil when it is not a URL Latchkey can use (see `init(parsing:)`).
    public init?(_ url: String) {
        guard let parts = try? URLParts(parsing: url) else { return nil }
        self = parts
    }

    /// The parts of `url`, or a `URLProblem` that says which part is wrong.
    public init(parsing url: String) throws(URLProblem) {
        guard let schemeEnd = url.utf8.firstOccurrence(of: "://".utf8) else {
            throw URLProblem("it has no scheme (such as https://)")
        }
        let scheme = Substring(url.utf8[..<schemeEnd.lowerBound])
        guard let first = scheme.utf8.first, Self.isLetter(first),
            scheme.utf8.allSatisfy({ Self.isLetter($0) || Self.isDigit($0) || "+-.".utf8.contains($0) })
        else { throw URLProblem("its scheme is not letters followed by letters, digits, '+', '-' or '.'") }
        self.scheme = scheme.lowercased()
        var authority = Substring(url.utf8[schemeEnd.upperBound...])
        if let end = authority.utf8.firstIndex(where: {
            $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "?") || $0 == UInt8(ascii: "#")
        }) {
            authority = authority[..<end]
        }
        // Readers disagree on '\' in an authority (WHATWG reads it as '/'): refuse it.
        guard !authority.utf8.contains(UInt8(ascii: "\\")) else { throw URLProblem("its host part holds a backslash") }
        if let at = authority.utf8.lastIndex(of: UInt8(ascii: "@")) {
            userinfo = String(authority[..<at])
            authority = authority[authority.index(after: at)...]
        } else {
            userinfo = nil
        }
        let portText: Substring?
        if authority.utf8.first == UInt8(ascii: "[") {
            guard let close = authority.utf8.firstIndex(of: UInt8(ascii: "]")) else {
                throw URLProblem("its IPv6 address has no closing bracket ']'")
            }
            host = try Self.ipv6(authority[authority.index(after: authority.startIndex)..<close])
            let after = authority[authority.index(after: close)...]
            guard after.isEmpty || after.utf8.first == UInt8(ascii: ":") else {
                throw URLProblem("text follows the bracket ']' of its IPv6 address")
            }
            portText = after.isEmpty ? nil : after.dropFirst()
        } else if let colon = authority.utf8.firstIndex(of: UInt8(ascii: ":")) {
            host = try Self.name(authority[..<colon])
            portText = authority[authority.index(after: colon)...]
        } else {
            host = try Self.name(authority)
            portText = nil
        }
        // RFC 3986 allows an empty port ("host:"): the scheme's default.
        if let portText, !portText.isEmpty {
            guard let port = CheckedNumber.decimal(portText, maximum: 65535), port >= 1 else {
                throw URLProblem("its port is not a number from 1 to 65535 written in ASCII digits")
            }
            self.port = port
        } else {
            port = nil
        }
    }

    /// `localhost`, `::1` or an IPv4 address in 127.0.0.0/8 — exactly, so that names such as
    /// `127.0.0.1.example.com` do not count.
    public var isLoopback: Bool { Loopback.isLoopback(host: host) }

    // MARK: Hosts

    private static func name(_ text: Substring) throws(URLProblem) -> String {
        guard !text.isEmpty else { throw URLProblem("it has no host") }
        for byte in text.utf8
        where
            !(isLetter(byte) || isDigit(byte) || byte == UInt8(ascii: "-") || byte == UInt8(ascii: ".")
            || byte == UInt8(ascii: "_"))
        {
            if byte >= 0x80 {
                throw URLProblem(
                    "its host has a character that is not ASCII (write an international name in its xn-- form)")
            }
            if byte == UInt8(ascii: "%") {
                throw URLProblem("its host is percent-encoded; write the host name as it is")
            }
            if byte == UInt8(ascii: "[") || byte == UInt8(ascii: "]") {
                throw URLProblem("its host has a bracket outside an IPv6 address in brackets")
            }
            throw URLProblem("its host has a character a host name cannot have")
        }
        return text.lowercased()
    }

    // Hex digits, ':' and the dots of an embedded IPv4 address; no zone (`%25eth0`).
    private static func ipv6(_ text: Substring) throws(URLProblem) -> String {
        guard text.utf8.contains(UInt8(ascii: ":")), text.utf8.count <= 45,
            text.utf8.allSatisfy({
                isDigit($0) || isHexLetter($0) || $0 == UInt8(ascii: ":") || $0 == UInt8(ascii: ".")
            })
        else { throw URLProblem("the address in its brackets is not an IPv6 address in ASCII") }
        return text.lowercased()
    }

    private static func isLetter(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte | 0x20)
    }

    private static func isDigit(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
    }

    private static func isHexLetter(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte | 0x20)
    }
}
