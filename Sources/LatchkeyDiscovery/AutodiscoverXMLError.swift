/// Why an Autodiscover POX answer could not be read: what was wrong, and where (line and column
/// of the answer's text after any UTF-16 decoding, 0 when the answer as a whole is at fault).
public struct AutodiscoverXMLError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        /// Larger than the response cap.
        case tooLarge
        /// A byte order mark, encoding declaration or byte sequence that is not UTF-8 or UTF-16.
        case encoding
        /// Not well-formed XML 1.0 (or XML Namespaces).
        case malformed
        /// A document type declaration: refused, never expanded.
        case doctype
        /// Nested deeper, or with more elements or attributes, than any Autodiscover answer has.
        case tooComplex
        /// Well-formed XML that is not an Autodiscover answer.
        case notAutodiscover
    }

    public var kind: Kind
    public var message: String
    public var line: Int
    public var column: Int

    public init(_ kind: Kind, _ message: String, line: Int = 0, column: Int = 0) {
        self.kind = kind
        self.message = message
        self.line = line
        self.column = column
    }

    /// An error at byte `offset` of `text`, with its line and column counted there.
    init(_ kind: Kind, _ message: String, at offset: Int, in text: [UInt8]) {
        var line = 1
        var lineStart = 0
        let end = min(max(offset, 0), text.count)
        var index = 0
        while index < end {
            if text[index] == 0x0A {
                line += 1
                lineStart = index + 1
            }
            index += 1
        }
        self.init(kind, message, line: line, column: end - lineStart + 1)
    }

    public var description: String {
        line > 0 ? "\(message) (line \(line), column \(column))" : message
    }
}
