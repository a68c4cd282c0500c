/// An answer's bytes as UTF-8 text, as XML 1.0 §4.3.3 and Appendix F define it: a UTF-8 BOM is
/// dropped, UTF-16 (LE or BE, by its BOM or by `<?` in UTF-16) is decoded, and the XML
/// declaration's `encoding` must agree with what was found. ISO-8859-1 and US-ASCII are read
/// when declared; any other encoding is refused. The result is valid UTF-8 holding only XML
/// characters. One pass over the bytes each.
enum XMLEncoding {
    private enum Form: Equatable {
        case utf8(bom: Bool)
        case utf16(bigEndian: Bool)
    }

    static func utf8(_ raw: [UInt8], steps: inout Int) throws(AutodiscoverXMLError) -> [UInt8] {
        let form: Form
        var text: [UInt8]
        if raw.starts(with: [0xEF, 0xBB, 0xBF]) {
            form = .utf8(bom: true)
            text = Array(raw.dropFirst(3))
        } else if raw.starts(with: [0xFE, 0xFF]) || raw.starts(with: [0x00, 0x3C, 0x00, 0x3F]) {
            form = .utf16(bigEndian: true)
            text = try utf16(
                raw.starts(with: [0xFE, 0xFF]) ? raw.dropFirst(2) : raw[...], bigEndian: true, steps: &steps)
        } else if raw.starts(with: [0xFF, 0xFE]) || raw.starts(with: [0x3C, 0x00, 0x3F, 0x00]) {
            form = .utf16(bigEndian: false)
            text = try utf16(
                raw.starts(with: [0xFF, 0xFE]) ? raw.dropFirst(2) : raw[...], bigEndian: false, steps: &steps)
        } else {
            form = .utf8(bom: false)
            text = raw
        }
        switch (declaredEncoding(text)?.lowercased(), form) {
        case (nil, _), ("utf-8", .utf8), ("utf8", .utf8), ("utf-16", .utf16),
            ("utf-16be", .utf16(bigEndian: true)), ("utf-16le", .utf16(bigEndian: false)):
            break
        case ("us-ascii", .utf8), ("ascii", .utf8):
            if let offset = text.firstIndex(where: { $0 >= 0x80 }) {
                throw AutodiscoverXMLError(
                    .encoding, "the answer declares US-ASCII but holds a byte above 0x7F", at: offset, in: text)
            }
        case ("iso-8859-1", .utf8(bom: false)), ("latin1", .utf8(bom: false)), ("latin-1", .utf8(bom: false)):
            steps += text.count
            text = latin1(text)
        case (let declared?, .utf16):
            throw AutodiscoverXMLError(
                .encoding, "the answer is UTF-16 but declares the encoding \"\(XMLReader.shown(declared.utf8))\"")
        case (let declared?, .utf8(let bom)) where declared.hasPrefix("utf-16") || bom:
            throw AutodiscoverXMLError(
                .encoding,
                "the answer declares the encoding \"\(XMLReader.shown(declared.utf8))\" but is "
                    + (bom ? "UTF-8 (it starts with a UTF-8 byte order mark)" : "not UTF-16 (no byte order mark)"))
        case (let declared?, _):
            throw AutodiscoverXMLError(
                .encoding,
                "the answer's encoding \"\(XMLReader.shown(declared.utf8))\" is not supported "
                    + "(Autodiscover answers are UTF-8 or UTF-16)"
            )
        }
        try validate(text, steps: &steps)
        return text
    }

    /// The `encoding` of an XML declaration at the start of the text (ASCII there in every
    /// encoding read here), looked for in its first 256 bytes only.
    static func declaredEncoding(_ text: [UInt8]) -> String? {
        guard text.starts(with: Array("<?xml".utf8)), text.count > 5, XMLTree.isSpace(text[5]) else { return nil }
        let head = text.prefix(256)
        guard let end = head.firstOccurrence(of: Array("?>".utf8))?.lowerBound,
            let key = head[..<end].firstOccurrence(of: Array("encoding".utf8))?.upperBound
        else { return nil }
        var rest = head[key..<end].drop(while: XMLTree.isSpace)
        guard rest.first == UInt8(ascii: "=") else { return nil }
        rest = rest.dropFirst().drop(while: XMLTree.isSpace)
        guard let quote = rest.first, quote == UInt8(ascii: "\"") || quote == UInt8(ascii: "'") else { return nil }
        let value = rest.dropFirst().prefix { $0 != quote }
        return String(decoding: value, as: UTF8.self)
    }

    private static func utf16(_ bytes: ArraySlice<UInt8>, bigEndian: Bool, steps: inout Int)
        throws(AutodiscoverXMLError) -> [UInt8]
    {
        guard bytes.count % 2 == 0 else {
            throw AutodiscoverXMLError(
                .encoding, "the answer is UTF-16 but has an odd number of bytes (\(bytes.count))")
        }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var index = bytes.startIndex
        var pendingHigh: UInt32?
        while index < bytes.endIndex {
            steps += 1
            let first = UInt32(bytes[index]), second = UInt32(bytes[index + 1])
            let unit = bigEndian ? first << 8 | second : second << 8 | first
            index += 2
            switch (unit, pendingHigh) {
            case (0xD800...0xDBFF, nil):
                pendingHigh = unit
            case (0xDC00...0xDFFF, let high?):
                appendUTF8(0x10000 + ((high - 0xD800) << 10) + (unit - 0xDC00), to: &out)
                pendingHigh = nil
            case (0xD800...0xDFFF, _), (_, .some):
                throw AutodiscoverXMLError(
                    .encoding, "the UTF-16 answer has an unpaired surrogate near byte \(index - bytes.startIndex)")
            default:
                appendUTF8(unit, to: &out)
            }
        }
        if pendingHigh != nil {
            throw AutodiscoverXMLError(.encoding, "the UTF-16 answer ends inside a surrogate pair")
        }
        return out
    }

    private static func latin1(_ bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        for byte in bytes { appendUTF8(UInt32(byte), to: &out) }
        return out
    }

    static func appendUTF8(_ scalar: UInt32, to out: inout [UInt8]) {
        switch scalar {
        case ..<0x80: out.append(UInt8(scalar))
        case ..<0x800: out += [UInt8(0xC0 | scalar >> 6), UInt8(0x80 | scalar & 0x3F)]
        case ..<0x10000:
            out += [UInt8(0xE0 | scalar >> 12), UInt8(0x80 | scalar >> 6 & 0x3F), UInt8(0x80 | scalar & 0x3F)]
        default:
            out += [
                UInt8(0xF0 | scalar >> 18 & 0x07), UInt8(0x80 | scalar >> 12 & 0x3F), UInt8(0x80 | scalar >> 6 & 0x3F),
                UInt8(0x80 | scalar & 0x3F),
            ]
        }
    }

    /// Whether a code point is an XML 1.0 `Char` (§2.2).
    static func isXMLChar(_ scalar: UInt32) -> Bool {
        switch scalar {
        case 0x09, 0x0A, 0x0D, 0x20...0xD7FF, 0xE000...0xFFFD, 0x10000...0x10FFFF: true
        default: false
        }
    }

    /// Throws at the first byte that is not UTF-8 or not an XML character.
    private static func validate(_ text: [UInt8], steps: inout Int) throws(AutodiscoverXMLError) {
        var index = 0
        while index < text.count {
            steps += 1
            let lead = text[index]
            var length = 1, scalar = UInt32(lead), minimum: UInt32 = 0
            switch lead {
            case 0x00..<0x80: break
            case 0xC0..<0xE0: (length, scalar, minimum) = (2, UInt32(lead & 0x1F), 0x80)
            case 0xE0..<0xF0: (length, scalar, minimum) = (3, UInt32(lead & 0x0F), 0x800)
            case 0xF0..<0xF8: (length, scalar, minimum) = (4, UInt32(lead & 0x07), 0x10000)
            default: length = 0
            }
            var valid = length > 0 && index + length <= text.count
            var next = 1
            while valid && next < length {
                let byte = text[index + next]
                valid = byte & 0xC0 == 0x80
                scalar = scalar << 6 | UInt32(byte & 0x3F)
                next += 1
            }
            guard valid, scalar >= minimum else {
                throw AutodiscoverXMLError(.encoding, "the answer is not valid UTF-8", at: index, in: text)
            }
            guard isXMLChar(scalar) else {
                let code = "U+" + String(scalar, radix: 16, uppercase: true)
                throw AutodiscoverXMLError(
                    .encoding, "the answer holds the character \(code), which XML does not allow", at: index, in: text)
            }
            index += length
        }
    }

    /// The byte one of the five predefined entities stands for (§4.6).
    static func predefinedEntity(_ name: ArraySlice<UInt8>) -> UInt8? {
        if name.elementsEqual("amp".utf8) { return UInt8(ascii: "&") }
        if name.elementsEqual("lt".utf8) { return UInt8(ascii: "<") }
        if name.elementsEqual("gt".utf8) { return UInt8(ascii: ">") }
        if name.elementsEqual("quot".utf8) { return UInt8(ascii: "\"") }
        if name.elementsEqual("apos".utf8) { return UInt8(ascii: "'") }
        return nil
    }

    /// The code point of `#` ASCII decimal digits or `#x` ASCII hex digits (§4.1); nil for
    /// anything else, or above U+10FFFF.
    static func characterReference(_ body: ArraySlice<UInt8>) -> UInt32? {
        guard body.first == UInt8(ascii: "#") else { return nil }
        let hex = body.dropFirst().first == UInt8(ascii: "x")
        let digits = body.dropFirst(hex ? 2 : 1)
        guard !digits.isEmpty else { return nil }
        var code: UInt32 = 0
        for byte in digits {
            let digit: UInt32
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f") where hex: digit = UInt32(byte - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F") where hex: digit = UInt32(byte - UInt8(ascii: "A") + 10)
            default: return nil
            }
            code = code * (hex ? 16 : 10) + digit
            guard code <= 0x10FFFF else { return 0x110000 }
        }
        return code
    }
}
