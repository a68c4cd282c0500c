import LatchkeyCore
import Synchronization

/// One failed sign-in or refresh as the daemon saw it: when, how, and what the provider said
/// (its OAuth `error`, AADSTS codes and `suberror`). Never a secret: the message is the first
/// line of the daemon's own error text, without control characters, token-like words
/// redacted, clipped to 300 characters.
public struct RecordedError: Sendable, Equatable {
    public var time: Double
    /// "device", "browser", "kerberos", "basic" or "refresh".
    public var method: String
    public var error: String?
    public var errorCodes: [Int]
    public var suberror: String?
    public var message: String

    public init(time: Double, method: String, error: String?, errorCodes: [Int], suberror: String?, message: String) {
        self.time = time
        self.method = method
        self.error = error.map { Self.clean($0, limit: 64) }
        self.errorCodes = Array(errorCodes.prefix(8))
        self.suberror = suberror.map { Self.clean($0, limit: 64) }
        self.message = Self.clean(message, limit: 300)
    }

    /// `{"time", "method", "error", "error_codes", "suberror", "message"}` (README's socket API).
    public var json: JSONValue {
        .object([
            ("time", .number(time)), ("method", .string(method)), ("error", error.map(JSONValue.string) ?? .null),
            ("error_codes", .array(errorCodes.map { .number(Double($0)) })),
            ("suberror", suberror.map(JSONValue.string) ?? .null), ("message", .string(message)),
        ])
    }

    public init?(json: JSONValue?) {
        guard let json, let time = json["time"]?.doubleValue, let method = json["method"]?.stringValue,
            let message = json["message"]?.stringValue
        else { return nil }
        self.init(
            time: time, method: Self.clean(method, limit: 16), error: json["error"]?.stringValue,
            errorCodes: (json["error_codes"]?.arrayValue ?? []).compactMap(\.intValue),
            suberror: json["suberror"]?.stringValue,
            message: message)
    }

    /// First line, printable only, words that look like tokens or codes (24+ characters of
    /// base64url, dots, `+`, `/`, `=`) replaced by `[redacted]`, at most `limit` characters.
    public static func clean(_ text: String, limit: Int) -> String {
        let line = text.split(whereSeparator: \.isNewline).first.map(String.init) ?? ""
        let printable = String(
            String.UnicodeScalarView(
                line.unicodeScalars.filter { $0.value >= 0x20 && !(0x7F...0x9F).contains($0.value) }))
        let words = printable.split(separator: " ", omittingEmptySubsequences: false).map { word -> String in
            let tokenish =
                word.count >= 24
                && word.unicodeScalars.allSatisfy {
                    ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0)
                        || "-_.+/=~".unicodeScalars.contains($0)
                }
            return tokenish && !word.hasPrefix("http") ? "[redacted]" : String(word)
        }
        let joined = words.joined(separator: " ")
        return joined.count > limit ? String(joined.prefix(limit)) + "…" : joined
    }
}

/// The last sign-in error and the last refresh error of each account, kept in
/// `$XDG_STATE_HOME/latchkey/errors.json` (0600) so a restart of the daemon keeps them and
/// `latchkey diagnose` can read them. A later success removes the error it supersedes.
public final class ErrorJournal: Sendable {
    public enum Kind: String, Sendable {
        case signIn = "sign_in"
        case refresh
    }

    public let path: String
    private let entries: Mutex<[String: [Kind: RecordedError]]>
    static let limit = 1 << 20

    /// Loads what an earlier daemon kept; an unreadable file starts empty (and is replaced).
    public init(path: String) {
        self.path = path
        entries = Mutex(Self.read(path: path))
    }

    /// What the file holds now, per account (for diagnose); empty when there is none.
    public static func read(path: String) -> [String: [Kind: RecordedError]] {
        guard let bytes = try? FileIO.readIfPresent(path, limit: limit), let json = try? JSONValue.parse(bytes),
            case .object(let accounts)? = json["accounts"]
        else { return [:] }
        var out: [String: [Kind: RecordedError]] = [:]
        for (name, value) in accounts.prefix(1000) {
            let kinds = Self.kinds(value)
            if !kinds.isEmpty { out[name] = kinds }
        }
        return out
    }

    /// The account's kept errors, as `{"sign_in": …, "refresh": …}` (null when none).
    public func json(account: String) -> JSONValue {
        let kept = entries.withLock { $0[account] } ?? [:]
        return .object([Kind.signIn, .refresh].map { ($0.rawValue, kept[$0]?.json ?? .null) })
    }

    /// `json(account:)` read back (what diagnose gets from the daemon).
    public static func kinds(_ json: JSONValue?) -> [Kind: RecordedError] {
        var kinds: [Kind: RecordedError] = [:]
        for kind in [Kind.signIn, .refresh] { kinds[kind] = RecordedError(json: json?[kind.rawValue]) }
        return kinds
    }

    public func record(_ account: String, _ kind: Kind, _ error: RecordedError) {
        let snapshot = entries.withLock { entries -> [String: [Kind: RecordedError]] in
            entries[account, default: [:]][kind] = error
            return entries
        }
        write(snapshot)
    }

    /// Removes the account's error of `kind`; writes only when there was one.
    public func clear(_ account: String, _ kind: Kind) {
        let snapshot = entries.withLock { entries -> [String: [Kind: RecordedError]]? in
            guard entries[account]?[kind] != nil else { return nil }
            entries[account]?[kind] = nil
            if entries[account]?.isEmpty == true { entries[account] = nil }
            return entries
        }
        if let snapshot { write(snapshot) }
    }

    private func write(_ snapshot: [String: [Kind: RecordedError]]) {
        let accounts = snapshot.keys.sorted().map { name -> (String, JSONValue) in
            let kinds = snapshot[name] ?? [:]
            return (
                name,
                .object([Kind.signIn, .refresh].compactMap { kind in kinds[kind].map { (kind.rawValue, $0.json) } })
            )
        }
        let document = JSONValue.object([("schema", .number(1)), ("accounts", .object(accounts))])
        // Best effort: a state folder that cannot be written loses the memory, never a sign-in.
        try? FileIO.replaceAtomically(path, with: Array(document.encoded.utf8))
    }
}
