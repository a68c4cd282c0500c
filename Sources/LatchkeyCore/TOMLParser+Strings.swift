extension TOMLParser {
    /// `a.b."c d".'e'`: bare and quoted keys separated by dots, whitespace allowed around them.
    mutating func dottedKey() throws(TOMLError) -> [String] {
        var path: [String] = []
        while true {
            skipWhitespace()
            guard path.count < TOMLTable.maxDepth else { throw tooDeep() }
            path.append(try simpleKey())
            skipWhitespace()
            guard peek == UInt8(ascii: ".") else { return path }
            pos += 1
        }
    }

    private mutating func simpleKey() throws(TOMLError) -> String {
        switch peek {
        case UInt8(ascii: "\""):
            guard peek(1) != UInt8(ascii: "\"") || peek(2) != UInt8(ascii: "\"") else {
                throw fail("a key may not be a multi-line string")
            }
            return try string()
        case UInt8(ascii: "'"):
            guard peek(1) != UInt8(ascii: "'") || peek(2) != UInt8(ascii: "'") else {
                throw fail("a key may not be a multi-line string")
            }
            return try string()
        default:
            let start = pos
            while let c = peek, c.isBareKeyByte { pos += 1 }
            guard pos > start else {
                throw fail(
                    peek == nil || peek == 0x0A || peek == 0x0D
                        ? "expected a key" : "expected a key (letters, digits, '_' and '-', or a quoted string)")
            }
            return String(decoding: bytes[start..<pos], as: UTF8.self)
        }
    }

    /// Any of the four string forms (TOML 1.0 §String), at an opening quote.
    mutating func string() throws(TOMLError) -> String {
        let quote = bytes[pos]
        let literal = quote == UInt8(ascii: "'")
        let multiline = peek(1) == quote && peek(2) == quote
        let opened = pos
        pos += multiline ? 3 : 1
        if multiline { _ = try newline() }  // a line break right after the opening quotes is trimmed
        var out: [UInt8] = []
        while true {
            guard let c = peek else {
                throw fail(multiline ? "the multi-line string is never closed" : "unterminated string", at: opened)
            }
            if c == quote {
                guard multiline else {
                    pos += 1
                    break
                }
                if peek(1) == quote && peek(2) == quote {
                    // Up to two more quotes right before the closing three belong to the string.
                    pos += 3
                    for _ in 0..<2 where peek == quote {
                        out.append(quote)
                        pos += 1
                    }
                    break
                }
                out.append(c)
                pos += 1
            } else if c == UInt8(ascii: "\\") && !literal {
                try escape(into: &out, multiline: multiline)
            } else if c == 0x0A || c == 0x0D {
                guard multiline else {
                    throw fail("unterminated string: a string in single quotes or double quotes ends on its line")
                }
                _ = try newline()
                out.append(0x0A)
            } else if c.isControl {
                throw fail(
                    "a string may not hold control characters (\(c.hexName)); "
                        + "write them as escapes such as \\n or \\u0007"
                )
            } else {
                out.append(c)
                pos += 1
            }
        }
        // The document was checked to be UTF-8 and escapes add only Unicode scalars.
        return String(decoding: out, as: UTF8.self)
    }

    private mutating func escape(into out: inout [UInt8], multiline: Bool) throws(TOMLError) {
        let at = pos
        pos += 1
        guard let e = peek else { throw fail("unterminated string", at: at) }
        pos += 1
        switch e {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"): out.append(e)
        case UInt8(ascii: "b"): out.append(0x08)
        case UInt8(ascii: "t"): out.append(0x09)
        case UInt8(ascii: "n"): out.append(0x0A)
        case UInt8(ascii: "f"): out.append(0x0C)
        case UInt8(ascii: "r"): out.append(0x0D)
        case UInt8(ascii: "u"), UInt8(ascii: "U"):
            let width = e == UInt8(ascii: "u") ? 4 : 8
            var v: UInt32 = 0
            for _ in 0..<width {
                guard let c = peek, let d = TOMLNumber.digitValue(c), d < 16 else {
                    throw fail("\\\(e == UInt8(ascii: "u") ? "u" : "U") needs \(width) hexadecimal digits", at: at)
                }
                v = v << 4 | UInt32(d)
                pos += 1
            }
            guard let scalar = Unicode.Scalar(v) else {
                throw fail(
                    "the escape does not name a Unicode scalar value (surrogates and values above 10FFFF are not)",
                    at: at)
            }
            out.append(contentsOf: String(Character(scalar)).utf8)
        case 0x20, 0x09, 0x0A, 0x0D:
            // A line-ending backslash: the line break and the whitespace after it are dropped.
            guard multiline else { throw fail("a backslash must start an escape such as \\n", at: at) }
            pos -= 1
            skipWhitespace()
            guard try newline() else { throw fail("only whitespace may follow a line-ending backslash", at: at) }
            while true {
                skipWhitespace()
                guard try newline() else { break }
            }
        default:
            throw fail(
                "unknown escape '\\\(String(decoding: [e], as: UTF8.self))' "
                    + "(TOML 1.0 has \\b \\t \\n \\f \\r \\\" \\\\ \\uXXXX \\UXXXXXXXX)",
                at: at)
        }
    }

    /// The offset of the first byte that is not well-formed UTF-8 (overlong forms, surrogates
    /// and values above U+10FFFF are not), or nil.
    static func firstInvalidUTF8(_ b: [UInt8]) -> Int? {
        var i = 0
        while i < b.count {
            let c = b[i]
            if c < 0x80 {
                i += 1
                continue
            }
            let (count, low, high): (Int, UInt8, UInt8)
            switch c {
            case 0xC2...0xDF: (count, low, high) = (1, 0x80, 0xBF)
            case 0xE0: (count, low, high) = (2, 0xA0, 0xBF)
            case 0xE1...0xEC, 0xEE...0xEF: (count, low, high) = (2, 0x80, 0xBF)
            case 0xED: (count, low, high) = (2, 0x80, 0x9F)
            case 0xF0: (count, low, high) = (3, 0x90, 0xBF)
            case 0xF1...0xF3: (count, low, high) = (3, 0x80, 0xBF)
            case 0xF4: (count, low, high) = (3, 0x80, 0x8F)
            default: return i
            }
            guard i + count < b.count, (low...high).contains(b[i + 1]) else { return i }
            for k in 2..<(count + 1) where !(0x80...0xBF).contains(b[i + k]) { return i }
            i += count + 1
        }
        return nil
    }
}
