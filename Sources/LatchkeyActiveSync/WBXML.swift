/// One element of an ActiveSync WBXML document (MS-ASWBXML): a tag on a code page, with either
/// children or text. Attributes, entities and string tables do not occur in ActiveSync and are
/// refused by the decoder.
public struct WBXMLElement: Sendable, Equatable {
    public var page: UInt8
    public var token: UInt8
    public var children: [WBXMLElement]
    public var text: String?

    public init(_ tag: WBXMLTag, text: String? = nil, children: [WBXMLElement] = []) {
        self.page = tag.page
        self.token = tag.token
        self.children = children
        self.text = text
    }

    /// Whether this element is the given tag.
    public func `is`(_ tag: WBXMLTag) -> Bool { page == tag.page && token == tag.token }

    /// The first child that is the given tag.
    public func child(_ tag: WBXMLTag) -> WBXMLElement? { children.first { $0.is(tag) } }

    /// The text of the first child that is the given tag.
    public func text(of tag: WBXMLTag) -> String? { child(tag)?.text }
}

/// A tag: its code page and its token on that page (MS-ASWBXML section 2.1.2.1).
public struct WBXMLTag: Sendable, Equatable, Hashable {
    public var page: UInt8
    public var token: UInt8

    public init(page: UInt8, token: UInt8) {
        self.page = page
        self.token = token
    }
}

/// WBXML 1.3 as ActiveSync uses it: version 0x03, public identifier 0x01 (unknown), UTF-8
/// (charset 106), an empty string table; SWITCH_PAGE, END, STR_I and OPAQUE.
enum WBXMLToken {
    static let switchPage: UInt8 = 0x00
    static let end: UInt8 = 0x01
    static let entity: UInt8 = 0x02
    static let inlineString: UInt8 = 0x03
    static let literal: UInt8 = 0x04
    static let opaque: UInt8 = 0xC3
    static let hasContent: UInt8 = 0x40
    static let hasAttributes: UInt8 = 0x80
    static let header: [UInt8] = [0x03, 0x01, 0x6A, 0x00]
}

/// Encodes an element tree. Linear in the tree's size.
public enum WBXMLEncoder {
    public static func encode(_ root: WBXMLElement) -> [UInt8] {
        var out = WBXMLToken.header
        var page: UInt8 = 0
        write(root, into: &out, page: &page)
        return out
    }

    private static func write(_ element: WBXMLElement, into out: inout [UInt8], page: inout UInt8) {
        if element.page != page {
            out += [WBXMLToken.switchPage, element.page]
            page = element.page
        }
        let empty = element.children.isEmpty && element.text == nil
        out.append(element.token | (empty ? 0 : WBXMLToken.hasContent))
        if empty { return }
        if let text = element.text {
            out.append(WBXMLToken.inlineString)
            out += Array(text.utf8).filter { $0 != 0 }
            out.append(0)
        }
        for child in element.children {
            write(child, into: &out, page: &page)
        }
        out.append(WBXMLToken.end)
    }
}
