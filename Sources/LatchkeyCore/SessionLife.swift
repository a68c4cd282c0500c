/// What is known of a session's life (issue 18), kept in the store so it survives restarts (an
/// OAuth account's with its access token, a Kerberos account's as an item of its own): when the
/// person last signed in interactively, when the refresh token was last used and last rotated,
/// a maximum session lifetime the provider stated in an error (AADSTS70043), and a Kerberos
/// password's expiry. Never a secret.
public struct SessionLife: Sendable, Equatable {
    /// The last interactive sign-in: the ID token's `auth_time`, else the local time of it.
    public var signedInAt: Timestamp?
    /// Whether `signedInAt` is the provider's `auth_time` (else the local time of the sign-in).
    public var signedInFromAuthTime = false
    public var refreshUsedAt: Timestamp?
    public var refreshRotatedAt: Timestamp?
    /// A maximum session lifetime the provider stated (AADSTS70043), in seconds.
    public var learntLifetime: Double?
    /// The deadline the person was last warned of (so each is announced once).
    public var warnedFor: Timestamp?
    /// Kerberos: the principal's password expiry the KDC reported at the last sign-in (it is
    /// reported then only, so it is kept here across restarts).
    public var passwordExpiresAt: Timestamp?

    public init() {}

    /// Whether the person was warned of `deadline` already. A deadline that moved by less than
    /// `sameDeadline` is the same one: a Kerberos ticket's renew-till is worked out anew from
    /// whole seconds left at every look, so it moves by up to a second between looks and
    /// across restarts.
    public func hasWarned(of deadline: Timestamp) -> Bool {
        guard let warnedFor else { return false }
        return abs(warnedFor - deadline) < Self.sameDeadline
    }

    /// How far a deadline may move and still be the one the person was warned of, in seconds.
    public static let sameDeadline: Double = 60

    /// The members of the stored document (`StoredAccessToken`'s `session`).
    public var json: JSONValue {
        func time(_ t: Timestamp?) -> JSONValue { t.map { .number($0.secondsSinceEpoch) } ?? .null }
        return .object([
            ("signed_in_at", time(signedInAt)), ("signed_in_from_auth_time", .bool(signedInFromAuthTime)),
            ("refresh_used_at", time(refreshUsedAt)), ("refresh_rotated_at", time(refreshRotatedAt)),
            ("learnt_lifetime", learntLifetime.map(JSONValue.number) ?? .null), ("warned_for", time(warnedFor)),
            ("password_expires_at", time(passwordExpiresAt)),
        ])
    }

    /// Reads what `json` wrote; a member missing or out of range is unknown, not an error
    /// (the store's contents are authenticated, but an older Latchkey wrote none of this).
    public init(json: JSONValue?) {
        func time(_ key: String) -> Timestamp? {
            guard let s = json?[key]?.doubleValue, s.isFinite, s > 0, s < 1e11 else { return nil }
            return Timestamp(secondsSinceEpoch: s)
        }
        signedInAt = time("signed_in_at")
        signedInFromAuthTime = json?["signed_in_from_auth_time"]?.boolValue ?? false
        refreshUsedAt = time("refresh_used_at")
        refreshRotatedAt = time("refresh_rotated_at")
        warnedFor = time("warned_for")
        passwordExpiresAt = time("password_expires_at")
        if let l = json?["learnt_lifetime"]?.doubleValue, l.isFinite, l > 0, l <= SessionLife.longestLifetime {
            learntLifetime = l
        }
    }

    /// The `auth_time` claim of an ID token (unverified: it is only shown, never trusted for
    /// access), if it is a plausible time.
    public static func authTime(idToken: String) -> Timestamp? {
        let parts = idToken.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[1].utf8.count <= 16_384 else { return nil }
        guard let bytes = Base64.decode(String(parts[1])),
            let claims = try? JSONValue.parse(String(decoding: bytes, as: UTF8.self)),
            let seconds = claims["auth_time"]?.doubleValue, seconds.isFinite, seconds > 0, seconds < 1e11
        else { return nil }
        return Timestamp(secondsSinceEpoch: seconds)
    }

    /// The lifetime an AADSTS70043 error states ("…the maximum allowed lifetime for this
    /// request is 43200."), in seconds; nil when the message states none.
    public static func statedLifetime(in message: String) -> Double? {
        let marker = "lifetime for this request is "
        guard message.includes("AADSTS70043"), let start = message.firstOccurrence(of: marker) else { return nil }
        let digits = message[start.upperBound...].prefix { $0.isASCII && $0.isNumber }
        guard !digits.isEmpty, digits.count <= 12, let seconds = Double(String(digits)), seconds > 0,
            seconds <= longestLifetime
        else { return nil }
        return seconds
    }

    /// The longest session lifetime believed (a stated one beyond is ignored): 10 years.
    public static let longestLifetime: Double = 10 * 366 * 86_400

    /// When a new interactive sign-in will be needed, and why.
    public struct Forecast: Sendable, Equatable {
        public var by: Timestamp
        public var reason: String
    }

    /// The earliest known deadline, or nil ("unknown") when no limit is known.
    /// - Parameters:
    ///   - sessionLifetime: the account's configured maximum (`session_lifetime`); a learnt
    ///     one counts when none is configured.
    ///   - inactivityLimit: the provider's refresh-token inactivity window; it is a deadline
    ///     only while Latchkey's keep-alive would not come first (`keepaliveInterval` not
    ///     shorter), since every keep-alive restarts it.
    public func forecast(sessionLifetime: Double?, inactivityLimit: Double?, keepaliveInterval: Double) -> Forecast? {
        var best: Forecast?
        func consider(_ by: Timestamp, _ reason: String) {
            if let current = best, current.by <= by { return }
            best = Forecast(by: by, reason: reason)
        }
        if let signedInAt, let lifetime = sessionLifetime ?? learntLifetime {
            let source = sessionLifetime != nil ? "session_lifetime" : "the provider's stated limit"
            consider(
                signedInAt + lifetime,
                "a session lasts at most \(Self.describe(lifetime)) (\(source)) from the sign-in at \(signedInAt)")
        }
        if let inactivityLimit, keepaliveInterval >= inactivityLimit, let used = refreshUsedAt ?? signedInAt {
            consider(
                used + inactivityLimit,
                "the refresh token dies after \(Self.describe(inactivityLimit)) unused, and keepalive_interval is not shorter"
            )
        }
        return best
    }

    /// "90 d", "7 h", "45 min", "30 s".
    public static func describe(_ seconds: Double) -> String {
        if seconds >= 86_400 && seconds.truncatingRemainder(dividingBy: 86_400) == 0 {
            return "\(CheckedNumber.describe(seconds / 86_400)) d"
        }
        if seconds >= 3600 && seconds.truncatingRemainder(dividingBy: 3600) == 0 {
            return "\(CheckedNumber.describe(seconds / 3600)) h"
        }
        if seconds >= 60 && seconds.truncatingRemainder(dividingBy: 60) == 0 {
            return "\(CheckedNumber.describe(seconds / 60)) min"
        }
        return "\(CheckedNumber.describe(seconds)) s"
    }
}
