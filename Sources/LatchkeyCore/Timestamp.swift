/// A moment on the wall clock, in seconds since the Unix epoch.
///
/// LatchkeyCore never reads the clock: the daemon hands `now` in. Expiry is always judged by
/// comparing wall-clock moments, so a machine that slept through an expiry sees it on waking.
public struct Timestamp: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var secondsSinceEpoch: Double

    public init(secondsSinceEpoch: Double) {
        self.secondsSinceEpoch = secondsSinceEpoch
    }

    public static func < (lhs: Timestamp, rhs: Timestamp) -> Bool {
        lhs.secondsSinceEpoch < rhs.secondsSinceEpoch
    }

    public static func + (lhs: Timestamp, seconds: Double) -> Timestamp {
        Timestamp(secondsSinceEpoch: lhs.secondsSinceEpoch + seconds)
    }

    public static func - (lhs: Timestamp, rhs: Timestamp) -> Double {
        lhs.secondsSinceEpoch - rhs.secondsSinceEpoch
    }

    /// Whole seconds since the epoch, as JSON answers carry them: exact within ±2^53 (what a
    /// JSON number holds exactly), the nearest bound beyond, the epoch for NaN; never a trap.
    public var unixSeconds: Int64 {
        Int64(clamping: secondsSinceEpoch, to: -(1 << 53)...(1 << 53), rounding: .down) ?? 0
    }

    /// RFC 3339 in UTC, e.g. `2026-11-22T14:49:17Z`.
    public var description: String {
        let total = unixSeconds
        let days = total >= 0 ? total / 86_400 : (total - 86_399) / 86_400
        let secondsOfDay = total - days * 86_400
        let (year, month, day) = Self.civil(fromDays: days)
        func two(_ v: Int64) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return "\(year)-\(two(month))-\(two(day))T\(two(secondsOfDay / 3600)):\(two(secondsOfDay % 3600 / 60)):"
            + "\(two(secondsOfDay % 60))Z"
    }

    // Howard Hinnant's days-to-civil algorithm.
    private static func civil(fromDays days: Int64) -> (Int64, Int64, Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}
