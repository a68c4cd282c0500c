/// A JSON value (RFC 8259), parsed strictly and written compactly.
///
/// Latchkey's own: the thin client may not link Foundation, and provider answers need a
/// tolerant reader (numbers given as strings, extra fields) with errors that never echo input.
public enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    /// Keys in document order. The parser refuses a document that repeats a key; a value
    /// built in code with a repeated key answers lookups with the first.
    case object([(String, JSONValue)])

    public static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): true
        case (.bool(let a), .bool(let b)): a == b
        case (.number(let a), .number(let b)): a == b
        case (.string(let a), .string(let b)): a == b
        case (.array(let a), .array(let b)): a == b
        case (.object(let a), .object(let b)):
            a.count == b.count && zip(a, b).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: false
        }
    }

    public subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        return members.first { $0.0 == key }?.1
    }

    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    /// A whole number, from a JSON number or a string of digits (Microsoft sends `"3599"`).
    public var intValue: Int? {
        switch self {
        case .number(let d) where abs(d) < 9e15: return Int(exactly: d)
        case .string: return doubleValue.flatMap { abs($0) < 9e15 ? Int(exactly: $0) : nil }
        default: return nil
        }
    }

    /// A finite number, from a JSON number or a string holding one JSON number (Microsoft
    /// sends `"3599"`). `"inf"`, `"nan"`, `"0x10"` and `"1e400"` are not numbers here.
    public var doubleValue: Double? {
        switch self {
        case .number(let d): return d.isFinite ? d : nil
        case .string(let s): return CheckedNumber.number(s)
        default: return nil
        }
    }

    public var boolValue: Bool? {
        if case .bool(let b) = self { return b }
        return nil
    }

    public var arrayValue: [JSONValue]? {
        if case .array(let a) = self { return a }
        return nil
    }

    public var isObject: Bool {
        if case .object = self { return true }
        return false
    }
}

extension String {
    /// Without leading and trailing spaces, tabs and line breaks.
    public var trimmed: String { String(trimmingSpaces) }

    var trimmingSpaces: Substring {
        var s = Substring(self)
        // `isNewline`, not == "\n": "\r\n" is one Character, equal to neither "\r" nor "\n".
        while let f = s.first, f == " " || f == "\t" || f.isNewline { s.removeFirst() }
        while let l = s.last, l == " " || l == "\t" || l.isNewline { s.removeLast() }
        return s
    }
}
