/// A server named as "host:port" (`imap`, `smtp` in an account): a DNS name or IPv4 address,
/// or an IPv6 address in brackets, and a decimal port from 1 to 65535.
public struct HostPort: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init?(_ text: String) {
        guard let colon = text.utf8.lastIndex(of: UInt8(ascii: ":")) else { return nil }
        var host = Substring(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = host.dropFirst().dropLast() }
        let port = text[text.index(after: colon)...]
        guard !host.isEmpty, host.utf8.count <= 253, let number = CheckedNumber.decimal(port, maximum: 65535),
            number > 0,
            host.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "/") && $0 != UInt8(ascii: "@") })
        else { return nil }
        self.host = String(host)
        self.port = number
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}
