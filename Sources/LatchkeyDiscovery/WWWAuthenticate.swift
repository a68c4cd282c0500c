/// Parsing of `WWW-Authenticate` field values (RFC 9110 §11.6.1, syntax in §11.2).
public enum WWWAuthenticate {
    /// Challenges read from all fields together; the rest is skipped (a real answer has a few).
    public static let maximumChallenges = 64
    /// Parameters kept per challenge; later ones are skipped.
    public static let maximumParameters = 64

    /// Every challenge in one or more header field values (several challenges may share one field,
    /// separated by commas; several fields each add theirs). Tolerant of real-world oddities: extra
    /// spaces and empty list elements (",,"), quoted strings containing commas and escaped quotes,
    /// token68 values (with trailing '='), schemes without parameters, unknown schemes (kept),
    /// parameter names in any case, BWS around '='. A malformed part is skipped, never crashes, and
    /// does not swallow the following valid challenges where they can be recognised.
    public static func parse(_ fieldValues: [String]) -> [AuthChallenge] {
        var challenges: [AuthChallenge] = []
        for fieldValue in fieldValues where challenges.count < maximumChallenges {
            var parser = ChallengeParser(bytes: Array(fieldValue.utf8))
            parser.parse(into: &challenges)
        }
        return challenges
    }
}

// The grammar, with the leniencies this parser adds in brackets:
//
//   WWW-Authenticate = #challenge
//   challenge  = auth-scheme [ 1*SP ( token68 / #auth-param ) ]   [params may also follow a token68 after a comma]
//   auth-param = token BWS "=" BWS ( token / quoted-string )     [unquoted values may be any run of visible
//                                                                 characters except ',' and '"', e.g. a URL]
//   token68    = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
//
// A list element that starts `token BWS "="` is an auth-param of the challenge in progress; any other element
// that starts with a token starts a new challenge. Anything else is skipped up to the next comma outside a
// quoted-string. Every step consumes input, and each byte is looked at a bounded number of times, so hostile
// input costs linear time.
struct ChallengeParser {
    private let bytes: [UInt8]
    private var index = 0
    // No unescaped closing quote follows any opening quote at or after this index: a scan that runs off the
    // end passes every later '"' as the second byte of a `\"` pair, so starting there would find nothing either.
    // Remembering this keeps input full of unterminated quotes linear.
    private var unterminatedFrom = Int.max

    init(bytes: [UInt8]) {
        self.bytes = bytes
    }

    mutating func parse(into challenges: inout [AuthChallenge]) {
        var current: AuthChallenge?
        while true {
            skipWhitespaceAndCommas()
            guard index < bytes.count else { break }
            guard let first = readToken() else {
                skipElement()
                continue
            }
            let afterToken = index
            skipWhitespace()
            if peek == UInt8(ascii: "=") {
                // An auth-param of the challenge in progress; junk if no challenge has started yet.
                if let kept = current?.parameters.count, kept < WWWAuthenticate.maximumParameters,
                    let value = readParameterValue()
                {
                    current?.parameters.append((name: first.lowercased(), value: value))
                } else {
                    skipElement()
                }
                continue
            }
            if let finished = current { challenges.append(finished) }
            guard challenges.count < WWWAuthenticate.maximumChallenges else { return }
            current = AuthChallenge(scheme: first)
            if atElementEnd { continue }
            guard index > afterToken else {
                // The scheme runs straight into something that is not a token character, e.g. `Basic"x"`.
                current = nil
                skipElement()
                continue
            }
            if let token68 = readToken68() {
                current?.token68 = token68
                continue
            }
            guard let name = readToken() else {
                skipElement()
                continue
            }
            skipWhitespace()
            if peek == UInt8(ascii: "="), let value = readParameterValue() {
                // The first parameter of a new challenge: always under the limit.
                current?.parameters.append((name: name.lowercased(), value: value))
            } else {
                skipElement()
            }
        }
        if let current { challenges.append(current) }
    }

    // MARK: - Pieces

    private var peek: UInt8? { index < bytes.count ? bytes[index] : nil }

    private var atElementEnd: Bool { index == bytes.count || bytes[index] == UInt8(ascii: ",") }

    private mutating func skipWhitespace() {
        while index < bytes.count, HTTPSyntax.isWhitespace(bytes[index]) { index += 1 }
    }

    private mutating func skipWhitespaceAndCommas() {
        while index < bytes.count,
            HTTPSyntax.isWhitespace(bytes[index]) || bytes[index] == UInt8(ascii: ",")
        {
            index += 1
        }
    }

    /// Skips to the next comma that is not inside a quoted-string (or to the end).
    private mutating func skipElement() {
        while index < bytes.count, bytes[index] != UInt8(ascii: ",") {
            if bytes[index] == UInt8(ascii: "\""), let close = closingQuote(after: index) {
                index = close + 1
            } else {
                index += 1
            }
        }
    }

    private mutating func readToken() -> String? {
        let start = index
        while index < bytes.count, HTTPSyntax.isTokenCharacter(bytes[index]) { index += 1 }
        return index > start ? string(start..<index) : nil
    }

    /// A token68 that fills the rest of its list element; otherwise consumes nothing.
    private mutating func readToken68() -> String? {
        let start = index
        while index < bytes.count, HTTPSyntax.isToken68Character(bytes[index]) { index += 1 }
        guard index > start else { return nil }
        while index < bytes.count, bytes[index] == UInt8(ascii: "=") { index += 1 }
        let end = index
        skipWhitespace()
        guard atElementEnd else {
            index = start
            return nil
        }
        return string(start..<end)
    }

    /// Reads `"=" BWS value OWS` up to the end of the list element, with `index` at the '='.
    /// Returns nil, with the element left to `skipElement()`, when the value is missing or followed by junk.
    private mutating func readParameterValue() -> String? {
        index += 1
        skipWhitespace()
        let value: String
        if peek == UInt8(ascii: "\"") {
            guard let quoted = readQuotedString() else { return nil }
            value = quoted
        } else {
            let start = index
            while index < bytes.count, Self.isUnquotedValueCharacter(bytes[index]) { index += 1 }
            guard index > start else { return nil }
            value = string(start..<index)
        }
        skipWhitespace()
        return atElementEnd ? value : nil
    }

    /// Reads a quoted-string with `index` at its opening quote, removing the quotes and quoted-pair escapes.
    /// An unterminated string consumes nothing.
    private mutating func readQuotedString() -> String? {
        guard let close = closingQuote(after: index) else { return nil }
        var unescaped: [UInt8] = []
        unescaped.reserveCapacity(close - index)
        var position = index + 1
        while position < close {
            if bytes[position] == UInt8(ascii: "\\") { position += 1 }
            unescaped.append(bytes[position])
            position += 1
        }
        index = close + 1
        return String(decoding: unescaped, as: UTF8.self)
    }

    /// The index of the quote that closes the quoted-string opening at `open`, honouring `\` escapes.
    private mutating func closingQuote(after open: Int) -> Int? {
        guard open < unterminatedFrom else { return nil }
        var position = open + 1
        while position < bytes.count {
            switch bytes[position] {
            case UInt8(ascii: "\\"): position += 2
            case UInt8(ascii: "\""): return position
            default: position += 1
            }
        }
        unterminatedFrom = open
        return nil
    }

    private static func isUnquotedValueCharacter(_ byte: UInt8) -> Bool {
        byte > 0x20 && byte != 0x7F && byte != UInt8(ascii: ",") && byte != UInt8(ascii: "\"")
    }

    private func string(_ range: Range<Int>) -> String {
        String(decoding: bytes[range], as: UTF8.self)
    }
}
