/// A read XML document: its elements in document order (the root first), each with its local
/// name, namespace URI, own text and children. Attributes other than namespace declarations
/// are not kept: no Autodiscover value lives in one.
struct XMLTree: Sendable {
    struct Node: Sendable {
        var local: String
        var namespace: String
        /// Character data and CDATA directly inside the element, references decoded; comments
        /// and processing instructions dropped.
        var text: [UInt8] = []
        var children: [Int] = []
    }

    var nodes: [Node] = []

    var root: XMLElement? { nodes.isEmpty ? nil : XMLElement(tree: self, index: 0) }

    static func isSpace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D
    }

    /// Escapes text for an XML element or attribute value.
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

/// One element of an `XMLTree`, looked at through its children by local name.
struct XMLElement {
    let tree: XMLTree
    let index: Int

    var local: String { tree.nodes[index].local }
    var namespace: String { tree.nodes[index].namespace }

    /// The child elements named `local` (any prefix), in document order.
    func children(_ local: String) -> [XMLElement] {
        tree.nodes[index].children.filter { tree.nodes[$0].local == local }.map { XMLElement(tree: tree, index: $0) }
    }

    /// The first child element named `local`.
    func child(_ local: String) -> XMLElement? {
        tree.nodes[index].children.first { tree.nodes[$0].local == local }.map { XMLElement(tree: tree, index: $0) }
    }

    /// The element's own text without surrounding XML white space.
    var text: String {
        let bytes = tree.nodes[index].text
        guard let first = bytes.firstIndex(where: { !XMLTree.isSpace($0) }),
            let last = bytes.lastIndex(where: { !XMLTree.isSpace($0) })
        else { return "" }
        return String(decoding: bytes[first...last], as: UTF8.self)
    }

    /// The text of the first child named `local`; nil when there is none or it is empty.
    func value(_ local: String) -> String? {
        guard let text = child(local)?.text, !text.isEmpty else { return nil }
        return text
    }
}
