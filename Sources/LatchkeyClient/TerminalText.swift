/// Text from the daemon or from a provider (a `user_code`, a `verification_uri`, an error
/// message, a Kerberos prompt) on its way to the person's terminal. Such text is outside
/// input: an escape sequence in it could retitle the window, hide or rewrite lines, set the
/// clipboard (OSC 52) or make a link show one address and open another (OSC 8). Every
/// control character is therefore shown, never sent: C0 controls and DEL in caret notation
/// (`\u{1B}` as `^[`), C1 controls and the bidirectional overrides as `\u{…}` escapes.
public enum TerminalText {
    /// `text` with every control character made visible; `keepNewlines` keeps line breaks of
    /// a multi-line banner (each still its own line, nothing else).
    public static func visible(_ text: String, keepNewlines: Bool = false) -> String {
        // The common case, all printable ASCII, allocates nothing.
        if text.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) { return text }
        var out = ""
        out.reserveCapacity(text.utf8.count + 8)
        for scalar in text.unicodeScalars {
            let value = scalar.value
            switch value {
            case 0x0A where keepNewlines:
                out.unicodeScalars.append(scalar)
            case 0x00..<0x20:
                out += "^" + String(UnicodeScalar(UInt8(value + 0x40)))
            case 0x7F:
                out += "^?"
            case 0x80..<0xA0, 0x200E, 0x200F, 0x202A...0x202E, 0x2066...0x2069:
                out += "\\u{" + String(value, radix: 16) + "}"
            default:
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// Whether `url` may be opened in a browser or shown as a link to follow: `https`, or
    /// `http` to this machine's loopback (the browser sign-in's own listener), with no
    /// space or control character anywhere in it.
    public static func isOpenable(_ url: String) -> Bool {
        guard !url.unicodeScalars.contains(where: { $0.value <= 0x20 || (0x7F..<0xA0).contains($0.value) }) else {
            return false
        }
        let lower = url.lowercased()
        if lower.hasPrefix("https://") { return lower.count > 8 }
        guard lower.hasPrefix("http://") else { return false }
        let rest = lower.dropFirst(7)
        let authority = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        guard !authority.contains("@") else { return false }
        let host: Substring
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return false }
            host = authority[authority.startIndex...close]
        } else {
            host = authority.prefix { $0 != ":" }
        }
        return host == "127.0.0.1" || host == "[::1]" || host == "localhost"
    }
}
