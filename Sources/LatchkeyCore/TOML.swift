/// A TOML 1.0 document, read with the line and column of every key (https://toml.io/en/v1.0.0).
///
/// The whole of TOML 1.0 is read: every string form, integers in every base, floats with
/// `inf` and `nan`, booleans, offset and local date-times, dates and times, arrays, inline
/// tables, tables and arrays of tables. Invalid TOML is refused with its line and column, never
/// misread. The reader runs in time linear in the input, nests at most `TOMLTable.maxDepth`
/// levels and never recurses deeper than that (arrays and inline tables are read with a stack
/// of their own), so no input can overflow the stack. Latchkey reads its own (the thin client
/// links no C++ toml library, and errors must point at the line and key, as pizauth's do);
/// conformance is measured with toml-lang/toml-test (scripts/toml-test.sh) and against
/// Python's `tomllib` (Tests/e2e/test_toml_differential.py).
public enum TOMLValue: Sendable, Equatable {
    case string(String)
    case integer(Int)
    case float(Double)
    case bool(Bool)
    indirect case dateTime(TOMLDateTime)
    case array([TOMLValue])
    case table(TOMLTable)

    /// The kind of value in words, with its article ("a string"), for messages.
    public var kind: String {
        switch self {
        case .string: "a string"
        case .integer: "an integer"
        case .float: "a float"
        case .bool: "a boolean"
        case .dateTime(let d): d.kind
        case .array: "an array"
        case .table: "a table"
        }
    }

    public static func == (a: TOMLValue, b: TOMLValue) -> Bool {
        switch (a, b) {
        case (.string(let x), .string(let y)): x == y
        case (.integer(let x), .integer(let y)): x == y
        case (.float(let x), .float(let y)): x == y || (x.isNaN && y.isNaN)
        case (.bool(let x), .bool(let y)): x == y
        case (.dateTime(let x), .dateTime(let y)): x == y
        case (.array(let x), .array(let y)): x == y
        case (.table(let x), .table(let y)): x == y
        default: false
        }
    }
}

/// A table whose entries remember where they were written.
public struct TOMLTable: Sendable, Equatable {
    public struct Entry: Sendable, Equatable {
        public var value: TOMLValue
        /// Where the value starts (1-based line and column, in characters).
        public var line: Int
        public var column: Int

        public init(value: TOMLValue, line: Int, column: Int = 1) {
            self.value = value
            self.line = line
            self.column = column
        }
    }

    /// Tables and arrays nest at most this deep: deeper is an error, not a stack overflow.
    public static let maxDepth = 128

    /// The keys in the order the document first wrote them.
    public private(set) var keys: [String] = []
    public private(set) var entries: [String: Entry] = [:]
    /// Where the header (or first key) that opened this table is.
    public var line: Int
    public var column: Int

    public init(line: Int, column: Int = 1) {
        self.line = line
        self.column = column
    }

    public subscript(key: String) -> Entry? { entries[key] }

    mutating func set(_ key: String, _ entry: Entry) {
        if entries[key] == nil { keys.append(key) }
        entries[key] = entry
    }

    /// Reads a TOML 1.0 document: the one entry point for every caller (the configuration, the
    /// toml-test decoder, the fuzz targets). A UTF-8 byte order mark at the start is skipped;
    /// lines may end in LF or CRLF. Throws the first error with its line, column and key.
    public static func parse(_ bytes: [UInt8]) throws(TOMLError) -> TOMLTable {
        var parser = TOMLParser(bytes)
        try parser.document()
        return parser.arena.table(0)
    }

    /// Reads a TOML 1.0 document from text (see `parse(_: [UInt8])`).
    public static func parse(_ text: String) throws(TOMLError) -> TOMLTable {
        try parse(Array(text.utf8))
    }
}

/// Why a document is not TOML 1.0, and where: 1-based line and column (in characters), and the
/// dotted key being read when there is one.
public struct TOMLError: Error, Sendable, Equatable, CustomStringConvertible {
    public var line: Int
    public var column: Int
    public var key: String
    public var message: String

    public init(line: Int, column: Int, key: String = "", message: String) {
        self.line = line
        self.column = column
        self.key = key
        self.message = message
    }

    public var description: String {
        key.isEmpty ? "\(line):\(column): \(message)" : "\(line):\(column): \(key): \(message)"
    }
}

extension UInt8 {
    @inlinable public var isBareKeyByte: Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(self) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(self)
            || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(self) || self == UInt8(ascii: "_")
            || self == UInt8(ascii: "-")
    }

    /// A byte an account name may have (`Configuration.isValidAccountName`).
    @inlinable public var isAccountNameByte: Bool { isBareKeyByte || self == UInt8(ascii: ".") }
}
