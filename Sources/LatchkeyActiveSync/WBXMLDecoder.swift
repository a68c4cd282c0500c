/// Why a WBXML body was refused; names the byte offset, never echoes the content.
public struct WBXMLError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public var offset: Int

    public var description: String { "WBXML: \(message) at byte \(offset)" }
}

/// Decodes an ActiveSync WBXML body into an element tree. The body is outside input: one pass,
/// bounded depth, bounded element count, bounded strings, no recursion on the input's depth
/// beyond `maximumDepth`; anything WBXML allows but ActiveSync never sends (attributes,
/// entities, string-table references, extensions) is refused.
public struct WBXMLDecoder {
    public static let maximumBytes = 1 << 20
    public static let maximumDepth = 32
    public static let maximumElements = 10_000

    private let bytes: [UInt8]
    private var offset = 0
    private var page: UInt8 = 0
    private var elements = 0

    private init(_ bytes: [UInt8]) {
        self.bytes = bytes
    }

    /// The document's root element.
    public static func decode(_ bytes: [UInt8]) throws(WBXMLError) -> WBXMLElement {
        guard bytes.count <= maximumBytes else {
            throw WBXMLError(message: "the body is larger than \(maximumBytes) bytes", offset: 0)
        }
        var decoder = WBXMLDecoder(bytes)
        try decoder.readHeader()
        let root = try decoder.readElement(depth: 1)
        guard decoder.offset == bytes.count else {
            throw WBXMLError(message: "data after the root element", offset: decoder.offset)
        }
        return root
    }

    private mutating func byte() throws(WBXMLError) -> UInt8 {
        guard offset < bytes.count else { throw WBXMLError(message: "the body ends early", offset: offset) }
        defer { offset += 1 }
        return bytes[offset]
    }

    /// A WBXML mb_u_int32: at most 5 bytes, at most 32 bits.
    private mutating func multiByteInteger() throws(WBXMLError) -> Int {
        var value = 0
        for _ in 0..<5 {
            let next = try byte()
            value = (value << 7) | Int(next & 0x7F)
            if next & 0x80 == 0 {
                guard value <= Int(UInt32.max) else { break }
                return value
            }
        }
        throw WBXMLError(message: "an integer longer than 32 bits", offset: offset)
    }

    private mutating func readHeader() throws(WBXMLError) {
        let version = try byte()
        guard version == 0x03 || version == 0x02 || version == 0x01 else {
            throw WBXMLError(message: "unknown WBXML version \(version)", offset: 0)
        }
        let publicID = try multiByteInteger()
        if publicID == 0 { _ = try multiByteInteger() }
        let charset = try multiByteInteger()
        guard charset == 106 else { throw WBXMLError(message: "charset \(charset) is not UTF-8", offset: offset) }
        guard try multiByteInteger() == 0 else {
            throw WBXMLError(message: "a string table (ActiveSync uses none)", offset: offset)
        }
    }

    private mutating func readTag() throws(WBXMLError) -> UInt8 {
        while true {
            let next = try byte()
            guard next == WBXMLToken.switchPage else { return next }
            page = try byte()
        }
    }

    private mutating func readElement(depth: Int) throws(WBXMLError) -> WBXMLElement {
        guard depth <= Self.maximumDepth else {
            throw WBXMLError(message: "elements nested deeper than \(Self.maximumDepth)", offset: offset)
        }
        elements += 1
        guard elements <= Self.maximumElements else {
            throw WBXMLError(message: "more than \(Self.maximumElements) elements", offset: offset)
        }
        let start = offset
        let tag = try readTag()
        guard tag & WBXMLToken.hasAttributes == 0, tag & 0x3F >= 0x05 else {
            throw WBXMLError(message: "token 0x\(String(tag, radix: 16)) where a tag was expected", offset: start)
        }
        var element = WBXMLElement(WBXMLTag(page: page, token: tag & 0x3F))
        guard tag & WBXMLToken.hasContent != 0 else { return element }
        while true {
            guard offset < bytes.count else { throw WBXMLError(message: "the body ends early", offset: offset) }
            switch bytes[offset] {
            case WBXMLToken.end:
                offset += 1
                return element
            case WBXMLToken.inlineString:
                offset += 1
                element.text = (element.text ?? "") + (try inlineString())
            case WBXMLToken.opaque:
                offset += 1
                let length = try multiByteInteger()
                guard length <= bytes.count - offset else {
                    throw WBXMLError(message: "opaque data longer than the body", offset: offset)
                }
                element.text = (element.text ?? "") + String(decoding: bytes[offset..<offset + length], as: UTF8.self)
                offset += length
            case WBXMLToken.entity, WBXMLToken.literal, 0x40...0x44, 0x80...0x84, 0xC0...0xC2, 0xC4:
                throw WBXMLError(message: "a WBXML construct ActiveSync does not use", offset: offset)
            default:
                element.children.append(try readElement(depth: depth + 1))
            }
        }
    }

    private mutating func inlineString() throws(WBXMLError) -> String {
        let start = offset
        while offset < bytes.count, bytes[offset] != 0 { offset += 1 }
        guard offset < bytes.count else { throw WBXMLError(message: "an unterminated string", offset: start) }
        defer { offset += 1 }
        return String(decoding: bytes[start..<offset], as: UTF8.self)
    }
}
