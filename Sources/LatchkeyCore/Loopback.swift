/// Which host names mean this machine, for the one rule "https, or plain http only to
/// loopback" (SECURITY.md) that the daemon's URLs and the thin client's git-credential share.
public enum Loopback {
    /// `localhost`, `::1` (without brackets) or exactly a dotted quad in 127.0.0.0/8 — so that
    /// names such as `127.0.0.1.example.com` do not count. Only ASCII digits make an octet:
    /// other scripts' digits and fractions are numbers to `Character`, not to `Int(_:)`.
    public static func isLoopback(host: String) -> Bool {
        let name = host.lowercased()
        if name == "localhost" || name == "::1" { return true }
        let octets = name.split(separator: ".", omittingEmptySubsequences: false)
        guard octets.count == 4, octets[0] == "127" else { return false }
        return octets.allSatisfy { $0.utf8.count <= 3 && CheckedNumber.decimal($0, maximum: 255) != nil }
    }
}
