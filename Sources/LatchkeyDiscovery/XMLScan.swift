import LatchkeyCore

/// Just enough XML for Autodiscover POX answers: the text of elements found by local name
/// (namespace prefixes ignored), in document order. Not a general parser: comments, CDATA and
/// processing instructions are skipped, attributes ignored, and the five predefined entities
/// and numeric character references decoded. Unbalanced input yields fewer matches, never a crash.
struct XMLScan {
    let text: [UInt8]

    init(_ bytes: [UInt8]) { text = bytes }

    /// Whether the document looks like XML at all (its first tag is not `<html` or `<!DOCTYPE html`).
    var looksLikeXML: Bool {
        guard let first = text.firstIndex(where: { !Self.isSpace($0) }), text[first] == UInt8(ascii: "<") else {
            return false
        }
        let head = String(decoding: text[first..<min(text.count, first + 64)], as: UTF8.self).lowercased()
        return !head.hasPrefix("<!doctype html") && !head.hasPrefix("<html")
    }

    /// The raw inner content of every element named `name` (local name, any prefix), outermost
    /// first; nested elements of the same name are part of the outer one's content.
    func elements(_ name: String) -> [XMLScan] {
        var found: [XMLScan] = []
        var index = 0
        while let open = nextTag(from: index) {
            index = open.end
            guard !open.closing, open.local == name else { continue }
            if open.selfClosing {
                found.append(XMLScan([]))
                continue
            }
            var depth = 1
            var cursor = open.end
            while let tag = nextTag(from: cursor) {
                cursor = tag.end
                guard tag.local == name, !tag.selfClosing else { continue }
                depth += tag.closing ? -1 : 1
                if depth == 0 {
                    found.append(XMLScan(Array(text[open.end..<tag.start])))
                    index = tag.end
                    break
                }
            }
            if depth != 0 { break }
        }
        return found
    }

    /// The first element named `name`, if any.
    func first(_ name: String) -> XMLScan? { elements(name).first }

    /// The element's text: tags removed, entities decoded, surrounding white space trimmed.
    var string: String {
        var out: [UInt8] = []
        var index = 0
        while index < text.count {
            if text[index] == UInt8(ascii: "<"), let tag = nextTag(from: index), tag.start == index {
                index = tag.end
            } else {
                out.append(text[index])
                index += 1
            }
        }
        return Self.decodeEntities(String(decoding: out, as: UTF8.self)).trimmed
    }

    /// The trimmed text of the first `name` element, nil when absent or empty.
    func value(_ name: String) -> String? {
        guard let text = first(name)?.string, !text.isEmpty else { return nil }
        return text
    }

    struct Tag {
        var start: Int
        var end: Int
        var local: String
        var closing: Bool
        var selfClosing: Bool
    }

    /// The next element tag at or after `from`, skipping comments, CDATA, `<?…?>` and `<!…>`.
    func nextTag(from: Int) -> Tag? {
        var index = from
        while index < text.count {
            guard let open = text[index...].firstIndex(of: UInt8(ascii: "<")) else { return nil }
            if hasPrefix("<!--", at: open) {
                guard let end = find("-->", after: open + 4) else { return nil }
                index = end + 3
                continue
            }
            if hasPrefix("<![CDATA[", at: open) {
                guard let end = find("]]>", after: open + 9) else { return nil }
                index = end + 3
                continue
            }
            guard let close = text[open...].firstIndex(of: UInt8(ascii: ">")) else { return nil }
            let inner = text[(open + 1)..<close]
            if inner.first == UInt8(ascii: "?") || inner.first == UInt8(ascii: "!") {
                index = close + 1
                continue
            }
            let closing = inner.first == UInt8(ascii: "/")
            let selfClosing = inner.last == UInt8(ascii: "/")
            let nameBytes = inner.drop { $0 == UInt8(ascii: "/") }.prefix { !Self.isSpace($0) && $0 != UInt8(ascii: "/") }
            var local = String(decoding: nameBytes, as: UTF8.self)
            if let colon = local.lastIndex(of: ":") { local = String(local[local.index(after: colon)...]) }
            return Tag(start: open, end: close + 1, local: local, closing: closing, selfClosing: selfClosing)
        }
        return nil
    }

    private func hasPrefix(_ literal: String, at index: Int) -> Bool {
        let bytes = Array(literal.utf8)
        return index + bytes.count <= text.count && Array(text[index..<(index + bytes.count)]) == bytes
    }

    private func find(_ literal: String, after index: Int) -> Int? {
        var cursor = index
        while cursor < text.count {
            if hasPrefix(literal, at: cursor) { return cursor }
            cursor += 1
        }
        return nil
    }

    static func isSpace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D
    }

    static func decodeEntities(_ text: String) -> String {
        guard text.contains("&") else { return text }
        var out = ""
        var rest = Substring(text)
        while let amp = rest.firstIndex(of: "&") {
            out += rest[..<amp]
            let after = rest[rest.index(after: amp)...]
            guard let semi = after.prefix(12).firstIndex(of: ";") else {
                out += "&"
                rest = after
                continue
            }
            let entity = after[..<semi]
            var decoded: String?
            switch entity {
            case "amp": decoded = "&"
            case "lt": decoded = "<"
            case "gt": decoded = ">"
            case "quot": decoded = "\""
            case "apos": decoded = "'"
            default:
                if entity.hasPrefix("#x") || entity.hasPrefix("#X") {
                    decoded = UInt32(entity.dropFirst(2), radix: 16).flatMap(Unicode.Scalar.init).map { String($0) }
                } else if entity.hasPrefix("#") {
                    decoded = UInt32(entity.dropFirst()).flatMap(Unicode.Scalar.init).map { String($0) }
                }
            }
            if let decoded {
                out += decoded
                rest = after[after.index(after: semi)...]
            } else {
                out += "&"
                rest = after
            }
        }
        return out + rest
    }

    /// Escapes text for an XML element.
    static func escape(_ text: String) -> String {
        var out = ""
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            default: out.append(character)
            }
        }
        return out
    }
}
