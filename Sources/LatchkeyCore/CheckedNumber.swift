/// A number from outside (a provider's JSON, a header, the socket, the config) that Latchkey
/// cannot use: not finite, or outside the range its field allows. The text names the field and
/// says what was wrong in plain words; it shows the number, never the text around it.
public struct OutsideNumberError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The field as the person knows it, e.g. "the token answer's expires_in".
    public var field: String
    public var reason: String

    public init(field: String, reason: String) {
        self.field = field
        self.reason = reason
    }

    public var description: String { "\(field) \(reason)" }
}

// Every number that comes from outside goes through here: `Int(someDouble)` traps on NaN,
// infinity and anything beyond ±2^63, and `Int(text)!` traps on text that is not a number.
// The conversions below never trap; they refuse (with an error naming the field) or clamp.

extension FixedWidthInteger {
    /// `value` rounded by `rule`, when it is finite and, rounded, inside `range`.
    public init(
        checking value: Double, field: String, in range: ClosedRange<Self> = Self.min...Self.max,
        rounding rule: FloatingPointRoundingRule = .towardZero
    ) throws(OutsideNumberError) {
        guard value.isFinite else {
            throw OutsideNumberError(field: field, reason: "is \(CheckedNumber.describe(value)), not a finite number")
        }
        // `init(exactly:)` answers nil, without trapping, for a whole number the type cannot hold.
        guard let whole = Self(exactly: value.rounded(rule)), range.contains(whole) else {
            throw OutsideNumberError(
                field: field,
                reason: "is \(CheckedNumber.describe(value)), outside \(range.lowerBound)...\(range.upperBound)")
        }
        self = whole
    }

    /// `value` rounded by `rule` and clamped to `range`: infinities become the bounds. NaN has
    /// no place in a range and gives nil.
    public init?(
        clamping value: Double, to range: ClosedRange<Self> = Self.min...Self.max,
        rounding rule: FloatingPointRoundingRule = .towardZero
    ) {
        guard !value.isNaN else { return nil }
        let rounded = value.rounded(rule)
        if rounded <= Double(range.lowerBound) {
            self = range.lowerBound
        } else if rounded >= Double(range.upperBound) {
            // Double(upperBound) may round up past the bound (2^63 for Int64.max): clamp first.
            self = range.upperBound
        } else {
            self = Self(exactly: rounded) ?? range.upperBound
        }
    }
}

/// Checked readings of numbers written as text or sent as floating point.
public enum CheckedNumber {
    /// The value of `text` when it is one or more ASCII digits `0`-`9` and nothing else (no
    /// sign, no space, no other script's digits such as `٣`), and at most `maximum`.
    public static func decimal(_ text: some StringProtocol, maximum: Int = Int.max) -> Int? {
        guard let read = digits(text, limit: maximum), !read.clamped else { return nil }
        return read.value
    }

    /// Like `decimal(_:maximum:)`, but a longer run of digits reads as `maximum` instead of
    /// nil (a `Retry-After` of twenty nines is "as long as allowed", not an error).
    public static func decimal(_ text: some StringProtocol, clampedTo maximum: Int) -> Int? {
        digits(text, limit: maximum)?.value
    }

    // One pass, constant work per byte; past `limit` it only checks that digits follow.
    private static func digits(_ text: some StringProtocol, limit: Int) -> (value: Int, clamped: Bool)? {
        var value = 0
        var clamped = false
        var sawDigit = false
        for byte in text.utf8 {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            sawDigit = true
            guard !clamped else { continue }
            let (times10, o1) = value.multipliedReportingOverflow(by: 10)
            let (sum, o2) = times10.addingReportingOverflow(Int(byte - UInt8(ascii: "0")))
            if o1 || o2 || sum > limit {
                value = limit
                clamped = true
            } else {
                value = sum
            }
        }
        return sawDigit ? (value, clamped) : nil
    }

    /// The finite number `text` holds when it is one JSON number (RFC 8259 §6: `-`, digits
    /// without a leading zero, a fraction, an exponent) and nothing else; spaces around it are
    /// allowed. `inf`, `nan`, `0x10`, `+5`, `1e400` and other scripts' digits are not numbers.
    public static func number(_ text: some StringProtocol) -> Double? {
        let trimmed = String(text).trimmed
        guard trimmed.utf8.count <= 64, let first = trimmed.utf8.first,
            first == UInt8(ascii: "-") || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(first),
            case .number(let value)? = try? JSONValue.parse(Array(trimmed.utf8))
        else { return nil }
        return value
    }

    /// A number of seconds from outside, kept as a `Double`, when finite and inside `range`.
    public static func seconds(
        _ value: Double, field: String, in range: ClosedRange<Double>
    ) throws(OutsideNumberError) -> Double {
        guard value.isFinite else {
            throw OutsideNumberError(field: field, reason: "is \(describe(value)), not a finite number")
        }
        guard range.contains(value) else {
            throw OutsideNumberError(
                field: field,
                reason:
                    "is \(describe(value)) s, outside \(describe(range.lowerBound))...\(describe(range.upperBound)) s")
        }
        return value
    }

    /// A number as a message shows it: whole numbers without a fraction, others as Swift
    /// writes them (`-1e+300`, `inf`, `nan`); never traps.
    public static func describe(_ value: Double) -> String {
        if let whole = Int64(exactly: value), abs(whole) <= 1 << 53 { return String(whole) }
        return String(value)
    }
}
