/// TOML 1.0 integers and floats (§Integer, §Float), read exactly as the grammar defines them:
/// decimal with an optional sign and no leading zero, `0x`, `0o` and `0b` without a sign, `_`
/// only between two digits, floats with a fraction and/or an exponent, `inf` and `nan` with an
/// optional sign. Integers are 64-bit; a larger one is out of range, never rounded or wrapped.
enum TOMLNumber: Equatable {
    case integer(Int)
    case float(Double)
    case outOfRange

    /// Reads the longest number at `i` the grammar allows, or nil when none starts there. The
    /// caller refuses what follows when it continues the word (`01`, `1__2`).
    static func scan(_ b: [UInt8], _ i: inout Int) -> TOMLNumber? {
        let start = i
        var j = i
        if j + 1 < b.count, b[j] == UInt8(ascii: "0"), let radix = radix(b[j + 1]) {
            j += 2
            guard let end = digits(b, j, radix) else { return nil }
            i = end
            var value = 0
            for k in j..<end where b[k] != UInt8(ascii: "_") {
                let (shifted, o1) = value.multipliedReportingOverflow(by: radix)
                let (sum, o2) = shifted.addingReportingOverflow(Int(digitValue(b[k]) ?? 0))
                if o1 || o2 { return .outOfRange }
                value = sum
            }
            return .integer(value)
        }
        var negative = false
        if j < b.count, b[j] == UInt8(ascii: "+") || b[j] == UInt8(ascii: "-") {
            negative = b[j] == UInt8(ascii: "-")
            j += 1
        }
        for special in ["inf", "nan"] where b[j...].starts(with: special.utf8) {
            i = j + 3
            if special == "nan" { return .float(negative ? -Double.nan : .nan) }
            return .float(negative ? -Double.infinity : .infinity)
        }
        // Integer part: 0, or a digit 1-9 followed by digits.
        guard j < b.count, b[j].isDigit else { return nil }
        let integerStart = j
        if b[j] == UInt8(ascii: "0") {
            j += 1
        } else {
            guard let end = digits(b, j, 10) else { return nil }
            j = end
        }
        let integerEnd = j
        var isFloat = false
        if j + 1 < b.count, b[j] == UInt8(ascii: "."), b[j + 1].isDigit, let end = digits(b, j + 1, 10) {
            j = end
            isFloat = true
        }
        if j < b.count, b[j] == UInt8(ascii: "e") || b[j] == UInt8(ascii: "E") {
            var k = j + 1
            if k < b.count, b[k] == UInt8(ascii: "+") || b[k] == UInt8(ascii: "-") { k += 1 }
            if let end = digits(b, k, 10) {
                j = end
                isFloat = true
            }
        }
        i = j
        if isFloat {
            // The text now matches the grammar, which is a subset of what Double reads.
            let text = String(decoding: b[start..<j].filter { $0 != UInt8(ascii: "_") }, as: UTF8.self)
            guard let value = Double(text) else { return .outOfRange }
            return .float(value)
        }
        var value = 0
        for k in integerStart..<integerEnd where b[k] != UInt8(ascii: "_") {
            let digit = Int(b[k] - UInt8(ascii: "0"))
            let (shifted, o1) = value.multipliedReportingOverflow(by: 10)
            let (sum, o2) =
                negative ? shifted.subtractingReportingOverflow(digit) : shifted.addingReportingOverflow(digit)
            if o1 || o2 { return .outOfRange }
            value = sum
        }
        return .integer(value)
    }

    private static func radix(_ c: UInt8) -> Int? {
        switch c {
        case UInt8(ascii: "x"): 16
        case UInt8(ascii: "o"): 8
        case UInt8(ascii: "b"): 2
        default: nil
        }
    }

    static func digitValue(_ c: UInt8) -> Int? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): Int(c - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): Int(c - UInt8(ascii: "a")) + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): Int(c - UInt8(ascii: "A")) + 10
        default: nil
        }
    }

    /// The end of `digit (_? digit)*` in `radix` starting at `i`, or nil when no digit is there.
    private static func digits(_ b: [UInt8], _ i: Int, _ radix: Int) -> Int? {
        func isDigit(_ k: Int) -> Bool { k < b.count && (digitValue(b[k]).map { $0 < radix } ?? false) }
        guard isDigit(i) else { return nil }
        var j = i + 1
        while true {
            if isDigit(j) {
                j += 1
            } else if j < b.count, b[j] == UInt8(ascii: "_"), isDigit(j + 1) {
                j += 2
            } else {
                return j
            }
        }
    }
}
