// Over 300 lines on purpose: one forward-pass reader whose cursor, bounds and tree are
// private to this file; a split would make them visible to the whole module.

/// A non-validating XML 1.0 reader (with XML Namespaces) for Autodiscover answers, in one
/// forward pass: every loop moves `index` on, so the work is linear in the answer's size, and
/// `steps` counts it. Comments, CDATA sections and processing instructions are read as §2.5–2.7
/// define them; character references and the five predefined entities are decoded (§4.1, §4.6);
/// a DOCTYPE is refused, so no entity is ever declared or expanded. Depth, element and
/// attribute counts are bounded far above what any Autodiscover answer uses.
struct XMLReader {
    static let maximumDepth = 32
    static let maximumElements = 10_000
    static let maximumAttributes = 64

    /// Reads raw answer bytes (any BOM, UTF-8 or UTF-16) into a tree.
    static func read(_ raw: [UInt8], steps: inout Int) throws(AutodiscoverXMLError) -> XMLTree {
        var reader = XMLReader(text: try XMLEncoding.utf8(raw, steps: &steps))
        defer { steps += reader.steps }
        try reader.document()
        return reader.tree
    }

    private let text: [UInt8]
    private var index = 0
    private var steps = 0
    private var tree = XMLTree()
    /// The open elements, innermost last: node, qualified name, prefixes it declared.
    private var open: [(node: Int, name: ArraySlice<UInt8>, declared: [String])] = []
    /// Namespace URIs by prefix ("" for the default), innermost declaration last.
    private var namespaces: [String: [String]] = ["xml": ["http://www.w3.org/XML/1998/namespace"]]

    private init(text: [UInt8]) { self.text = text }

    private func fail(_ message: String, at offset: Int? = nil, _ kind: AutodiscoverXMLError.Kind = .malformed)
        -> AutodiscoverXMLError
    {
        AutodiscoverXMLError(kind, message, at: offset ?? index, in: text)
    }

    /// Answer text for a message: printable ASCII, at most 40 bytes (a hostile name is neither
    /// echoed whole nor able to move the terminal's cursor).
    static func shown(_ bytes: some Collection<UInt8>) -> String {
        let printable = bytes.prefix(40).map { $0 >= 0x20 && $0 < 0x7F ? $0 : UInt8(ascii: "?") }
        return String(decoding: printable, as: UTF8.self) + (bytes.count > 40 ? "…" : "")
    }

    private func starts(_ literal: String, at offset: Int) -> Bool {
        var at = offset
        for byte in literal.utf8 {
            guard at < text.count, text[at] == byte else { return false }
            at += 1
        }
        return true
    }

    private mutating func document() throws(AutodiscoverXMLError) {
        while index < text.count {
            if text[index] == UInt8(ascii: "<") {
                try markup()
            } else {
                try characterData()
            }
        }
        if let innermost = open.last {
            throw fail("the answer ends inside <\(Self.shown(innermost.name))>")
        }
        if tree.nodes.isEmpty { throw fail("the answer has no root element") }
    }

    private mutating func markup() throws(AutodiscoverXMLError) {
        let start = index
        if starts("<?", at: index) {
            if starts("<?xml", at: index), index + 5 < text.count,
                XMLTree.isSpace(text[index + 5]) || text[index + 5] == UInt8(ascii: "?"), index != 0
            {
                throw fail("an XML declaration stands after the start of the answer")
            }
            try skip(past: "?>", from: index + 2, what: "a processing instruction", start: start)
        } else if starts("<!--", at: index) {
            try comment()
        } else if starts("<![CDATA[", at: index) {
            guard let node = open.last?.node else { throw fail("a CDATA section stands outside the root element") }
            index += 9
            while !starts("]]>", at: index) {
                steps += 1
                guard index < text.count else { throw fail("a CDATA section never ends", at: start) }
                tree.nodes[node].text.append(text[index])
                index += 1
            }
            index += 3
        } else if starts("<!DOCTYPE", at: index) {
            let message = "the answer has a document type declaration (<!DOCTYPE …>); Latchkey reads no DTD"
            throw fail(message, at: start, .doctype)
        } else if starts("<!", at: index) {
            throw fail("unknown markup '<!'")
        } else if starts("</", at: index) {
            try endTag()
        } else {
            try startTag()
        }
    }

    /// A comment, §2.5: `--` may appear only in its closing `-->`.
    private mutating func comment() throws(AutodiscoverXMLError) {
        let start = index
        index += 4
        while true {
            steps += 1
            guard index < text.count else { throw fail("a comment never ends", at: start) }
            if text[index] == UInt8(ascii: "-"), index + 1 < text.count, text[index + 1] == UInt8(ascii: "-") {
                guard index + 2 < text.count, text[index + 2] == UInt8(ascii: ">") else {
                    throw fail("a comment holds '--', which XML allows only in its closing '-->'")
                }
                index += 3
                return
            }
            index += 1
        }
    }

    private mutating func skip(past literal: String, from: Int, what: String, start: Int) throws(AutodiscoverXMLError) {
        index = from
        while !starts(literal, at: index) {
            steps += 1
            guard index < text.count else { throw fail("\(what) never ends", at: start) }
            index += 1
        }
        index += literal.utf8.count
    }

    private mutating func spaces() {
        while index < text.count, XMLTree.isSpace(text[index]) {
            steps += 1
            index += 1
        }
    }

    /// A Name (§2.3), loosely: ASCII letters, digits, `_ : . -` and any non-ASCII character.
    private mutating func name(_ what: String) throws(AutodiscoverXMLError) -> ArraySlice<UInt8> {
        let start = index
        while index < text.count {
            let byte = text[index]
            let letter = (byte | 0x20) >= UInt8(ascii: "a") && (byte | 0x20) <= UInt8(ascii: "z")
            let digit = byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
            let other = byte == UInt8(ascii: "_") || byte == UInt8(ascii: ":") || byte >= 0x80
            guard
                letter || other || (index > start && (digit || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "-")))
            else { break }
            steps += 1
            index += 1
        }
        guard index > start else { throw fail("\(what) has no name") }
        return text[start..<index]
    }

    private mutating func endTag() throws(AutodiscoverXMLError) {
        let start = index
        index += 2
        let closing = try name("a closing tag")
        spaces()
        guard index < text.count, text[index] == UInt8(ascii: ">") else {
            throw fail("a closing tag does not end with '>'")
        }
        index += 1
        let closingName = Self.shown(closing)
        guard let innermost = open.popLast() else {
            throw fail("the closing tag </\(closingName)> has no element to close", at: start)
        }
        guard innermost.name.elementsEqual(closing) else {
            let name = Self.shown(innermost.name)
            throw fail("the closing tag </\(closingName)> does not match <\(name)>", at: start)
        }
        for prefix in innermost.declared { namespaces[prefix]?.removeLast() }
    }

    private mutating func startTag() throws(AutodiscoverXMLError) {
        let start = index
        index += 1
        let qualified = try name("a tag")
        let tagName = Self.shown(qualified)
        if open.isEmpty && !tree.nodes.isEmpty { throw fail("a second root element <\(tagName)>", at: start) }
        guard open.count < Self.maximumDepth else {
            throw fail("elements are nested more than \(Self.maximumDepth) deep", at: start, .tooComplex)
        }
        guard tree.nodes.count < Self.maximumElements else {
            throw fail("the answer has more than \(Self.maximumElements) elements", at: start, .tooComplex)
        }
        var declared: [String] = []
        var seen: Set<ArraySlice<UInt8>> = []
        var selfClosing = false
        while true {
            let before = index
            spaces()
            guard index < text.count else { throw fail("the tag <\(tagName)> never ends", at: start) }
            if text[index] == UInt8(ascii: ">") {
                index += 1
                break
            }
            if starts("/>", at: index) {
                index += 2
                selfClosing = true
                break
            }
            guard index > before else { throw fail("attributes of <\(tagName)> must be separated by white space") }
            let attribute = try name("an attribute")
            guard seen.insert(attribute).inserted else {
                throw fail("<\(tagName)> has the attribute \(Self.shown(attribute)) twice")
            }
            guard seen.count <= Self.maximumAttributes else {
                throw fail("<\(tagName)> has more than \(Self.maximumAttributes) attributes", .tooComplex)
            }
            spaces()
            guard index < text.count, text[index] == UInt8(ascii: "=") else {
                throw fail("an attribute of <\(tagName)> has no '='")
            }
            index += 1
            spaces()
            let value = try attributeValue()
            if attribute.elementsEqual("xmlns".utf8) || attribute.starts(with: "xmlns:".utf8) {
                let prefix = String(decoding: attribute.dropFirst(6), as: UTF8.self)
                if !prefix.isEmpty && value.isEmpty {
                    throw fail("the namespace prefix '\(Self.shown(attribute.dropFirst(6)))' is bound to nothing")
                }
                namespaces[prefix, default: []].append(value)
                declared.append(prefix)
            }
        }
        let colon = qualified.firstIndex(of: UInt8(ascii: ":"))
        let prefix = colon.map { String(decoding: qualified[..<$0], as: UTF8.self) } ?? ""
        let local = String(decoding: colon.map { qualified[($0 + 1)...] } ?? qualified, as: UTF8.self)
        guard let namespace = namespaces[prefix]?.last ?? (prefix.isEmpty ? "" : nil), !local.isEmpty else {
            throw fail("the namespace prefix of <\(tagName)> is not declared", at: start)
        }
        let node = tree.nodes.count
        tree.nodes.append(XMLTree.Node(local: local, namespace: namespace))
        if let parent = open.last?.node { tree.nodes[parent].children.append(node) }
        if selfClosing {
            for prefix in declared { namespaces[prefix]?.removeLast() }
        } else {
            open.append((node, qualified, declared))
        }
    }

    /// A quoted attribute value with its references decoded (§3.3.3 normalisation is not needed:
    /// only namespace URIs are kept).
    private mutating func attributeValue() throws(AutodiscoverXMLError) -> String {
        guard index < text.count, text[index] == UInt8(ascii: "\"") || text[index] == UInt8(ascii: "'") else {
            throw fail("an attribute value is not quoted")
        }
        let quote = text[index], start = index
        index += 1
        var value: [UInt8] = []
        while true {
            steps += 1
            guard index < text.count else { throw fail("an attribute value never ends", at: start) }
            switch text[index] {
            case quote:
                index += 1
                return String(decoding: value, as: UTF8.self)
            case UInt8(ascii: "<"): throw fail("an attribute value holds '<'")
            case UInt8(ascii: "&"): try reference(into: &value)
            default:
                value.append(text[index])
                index += 1
            }
        }
    }

    /// Text up to the next `<`: outside the root only white space; inside, kept.
    private mutating func characterData() throws(AutodiscoverXMLError) {
        var kept: [UInt8] = []
        while index < text.count, text[index] != UInt8(ascii: "<") {
            steps += 1
            let byte = text[index]
            if open.isEmpty && !XMLTree.isSpace(byte) { throw fail("text stands outside the root element") }
            if byte == UInt8(ascii: "&") {
                try reference(into: &kept)
                continue
            }
            if byte == UInt8(ascii: ">"), kept.count >= 2, kept.suffix(2).elementsEqual("]]".utf8) {
                throw fail("text holds ']]>', which XML allows only to close a CDATA section")
            }
            kept.append(byte)
            index += 1
        }
        if let node = open.last?.node { tree.nodes[node].text += kept }
    }

    /// `&name;` for the five predefined entities, `&#N;` and `&#xH;` for a character; anything
    /// else (an undeclared entity, a code point XML does not allow) is an error.
    private mutating func reference(into out: inout [UInt8]) throws(AutodiscoverXMLError) {
        let start = index
        index += 1
        while index < text.count, text[index] != UInt8(ascii: ";"), index - start <= 16 {
            steps += 1
            index += 1
        }
        guard index < text.count, text[index] == UInt8(ascii: ";") else {
            throw fail("'&' does not start a reference ending in ';' (write &amp; for '&')", at: start)
        }
        let body = text[(start + 1)..<index]
        index += 1
        if let named = XMLEncoding.predefinedEntity(body) {
            out.append(named)
            return
        }
        guard let code = XMLEncoding.characterReference(body) else {
            throw fail(
                "the reference &\(Self.shown(body)); is not one XML defines (&amp; &lt; &gt; &quot; &apos; or &#…;)",
                at: start)
        }
        guard XMLEncoding.isXMLChar(code) else {
            throw fail("the reference &\(Self.shown(body)); names a character XML does not allow", at: start)
        }
        XMLEncoding.appendUTF8(code, to: &out)
    }
}
