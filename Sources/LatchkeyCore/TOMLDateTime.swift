/// A TOML date-time, date or time (RFC 3339, as TOML 1.0 §Offset Date-Time … §Local Time
/// define them). Which parts are present says which of the four kinds it is.
public struct TOMLDateTime: Sendable, Equatable {
    public struct Date: Sendable, Equatable {
        public var year: Int
        public var month: Int
        public var day: Int
    }

    public struct Time: Sendable, Equatable {
        public var hour: Int
        public var minute: Int
        public var second: Int
        /// The fraction of a second, in nanoseconds (digits after the ninth are dropped).
        public var nanosecond: Int
    }

    public var date: Date?
    public var time: Time?
    /// Minutes east of UTC, for an offset date-time (`Z` is 0).
    public var offsetMinutes: Int?

    /// The kind in words, with its article, for messages.
    public var kind: String {
        switch (date != nil, time != nil, offsetMinutes != nil) {
        case (true, true, true): "a date-time"
        case (true, true, false): "a local date-time"
        case (true, false, _): "a date"
        default: "a time"
        }
    }

    /// RFC 3339 text: `1979-05-27T07:32:00.5-07:00`, `1979-05-27`, `07:32:00`.
    public var rfc3339: String {
        var out = ""
        if let d = date {
            out += Self.digits(d.year, 4) + "-" + Self.digits(d.month, 2) + "-" + Self.digits(d.day, 2)
            if time != nil { out += "T" }
        }
        if let t = time {
            out += Self.digits(t.hour, 2) + ":" + Self.digits(t.minute, 2) + ":" + Self.digits(t.second, 2)
            if t.nanosecond > 0 {
                var fraction = Self.digits(t.nanosecond, 9)
                while fraction.hasSuffix("0") { fraction.removeLast() }
                out += "." + fraction
            }
        }
        if let offset = offsetMinutes {
            if offset == 0 {
                out += "Z"
            } else {
                out +=
                    (offset < 0 ? "-" : "+") + Self.digits(abs(offset) / 60, 2) + ":" + Self.digits(abs(offset) % 60, 2)
            }
        }
        return out
    }

    private static func digits(_ n: Int, _ width: Int) -> String {
        let s = String(n)
        return String(repeating: "0", count: max(0, width - s.count)) + s
    }
}

extension TOMLDateTime {
    /// Reads a date-time, date or time at `i`, if the bytes there start one (`nil` when they
    /// do not look like one at all: then they may be a number). `i` moves past what was read.
    /// Throws for a date or time that looks like one but is impossible (February 30th, 25:00).
    static func scan(_ b: [UInt8], _ i: inout Int) throws(TOMLScanError) -> TOMLDateTime? {
        let start = i
        if let date = try scanDate(b, start) {
            var value = TOMLDateTime(date: date)
            i = start + 10
            // A time follows after 'T', 't' or a space only when it is a whole time.
            if i < b.count, b[i] == UInt8(ascii: "T") || b[i] == UInt8(ascii: "t") || b[i] == 0x20,
                var j = Optional(i + 1), let time = try scanTime(b, &j)
            {
                value.time = time
                i = j
                if i < b.count, b[i] == UInt8(ascii: "Z") || b[i] == UInt8(ascii: "z") {
                    value.offsetMinutes = 0
                    i += 1
                } else if i < b.count, b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-"),
                    let h = number(b, i + 1, 2), i + 3 < b.count, b[i + 3] == UInt8(ascii: ":"),
                    let m = number(b, i + 4, 2)
                {
                    guard h <= 23, m <= 59 else { throw TOMLScanError("the time offset is out of range") }
                    value.offsetMinutes = (b[i] == UInt8(ascii: "-") ? -1 : 1) * (h * 60 + m)
                    i += 6
                }
            }
            return value
        }
        var j = start
        if let time = try scanTime(b, &j) {
            i = j
            return TOMLDateTime(time: time)
        }
        return nil
    }

    private static func scanDate(_ b: [UInt8], _ i: Int) throws(TOMLScanError) -> Date? {
        guard let y = number(b, i, 4), i + 4 < b.count, b[i + 4] == UInt8(ascii: "-"),
            let m = number(b, i + 5, 2), i + 7 < b.count, b[i + 7] == UInt8(ascii: "-"),
            let d = number(b, i + 8, 2)
        else { return nil }
        guard (1...12).contains(m) else { throw TOMLScanError("there is no month \(m)") }
        let leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)
        let days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1]
        guard y >= 1, (1...days).contains(d) else { throw TOMLScanError("there is no such date") }
        return Date(year: y, month: m, day: d)
    }

    private static func scanTime(_ b: [UInt8], _ i: inout Int) throws(TOMLScanError) -> Time? {
        guard let h = number(b, i, 2), i + 2 < b.count, b[i + 2] == UInt8(ascii: ":"),
            let m = number(b, i + 3, 2), i + 5 < b.count, b[i + 5] == UInt8(ascii: ":"),
            let s = number(b, i + 6, 2)
        else { return nil }
        guard h <= 23, m <= 59, s <= 59 else { throw TOMLScanError("there is no such time of day") }
        var time = Time(hour: h, minute: m, second: s, nanosecond: 0)
        i += 8
        if i + 1 < b.count, b[i] == UInt8(ascii: "."), b[i + 1].isDigit {
            i += 1
            var scale = 100_000_000
            while i < b.count, b[i].isDigit {
                time.nanosecond += Int(b[i] - UInt8(ascii: "0")) * scale
                scale /= 10
                i += 1
            }
        }
        return time
    }

    /// Exactly `width` ASCII digits at `i`.
    private static func number(_ b: [UInt8], _ i: Int, _ width: Int) -> Int? {
        guard i >= 0, i + width <= b.count else { return nil }
        var n = 0
        for k in i..<(i + width) {
            guard b[k].isDigit else { return nil }
            n = n * 10 + Int(b[k] - UInt8(ascii: "0"))
        }
        return n
    }
}

/// An error found while reading one value, placed by the caller.
struct TOMLScanError: Error {
    var message: String
    init(_ message: String) { self.message = message }
}

extension UInt8 {
    var isDigit: Bool { self >= UInt8(ascii: "0") && self <= UInt8(ascii: "9") }
}
