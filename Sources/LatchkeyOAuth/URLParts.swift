import LatchkeyCore

/// The parts of an http(s) URL that Latchkey needs: scheme, host, port. Enough to name a
/// host in messages and to check "https, or plain http only to loopback".
public struct URLParts: Sendable, Equatable {
    public var scheme: String
    public var host: String
    public var port: Int?

    public init?(_ url: String) {
        guard let schemeEnd = url.firstRange(of: "://") else { return nil }
        scheme = url[..<schemeEnd.lowerBound].lowercased()
        var rest = url[schemeEnd.upperBound...]
        if let end = rest.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) { rest = rest[..<end] }
        // Parsers disagree on '\\' in an authority (WHATWG reads it as '/'): refuse it.
        guard !rest.contains("\\") else { return nil }
        if let at = rest.lastIndex(of: "@") { rest = rest[rest.index(after: at)...] }
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else { return nil }
            host = String(rest[rest.index(after: rest.startIndex)..<close])
            let after = rest[rest.index(after: close)...]
            port = after.hasPrefix(":") ? Int(after.dropFirst()) : nil
        } else if let colon = rest.lastIndex(of: ":") {
            host = String(rest[..<colon])
            port = Int(rest[rest.index(after: colon)...])
        } else {
            host = String(rest)
            port = nil
        }
        guard !host.isEmpty else { return nil }
        host = host.lowercased()
    }

    /// `localhost`, `::1` or an IPv4 address in 127.0.0.0/8 — exactly, so that names such as
    /// `127.0.0.1.example.com` do not count (`Loopback.isLoopback(host:)`).
    public var isLoopback: Bool { Loopback.isLoopback(host: host) }
}
