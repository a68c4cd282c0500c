/// The subset of TOML 1.0 that Latchkey's configuration uses, read with the line of every key.
///
/// Supported: comments, `[table]` and `[dotted.table]` headers, bare, quoted and dotted keys,
/// basic and literal strings, integers, floats, booleans and (multi-line) arrays. Anything
/// else (multi-line strings, inline tables, arrays of tables, dates) is refused with the line,
/// never misread. Latchkey reads its own: errors must point at the line and key (pizauth's
/// habit), and the thin client links no C++ toml library.
public enum TOMLValue: Sendable, Equatable {
    case string(String)
    case integer(Int)
    case float(Double)
    case bool(Bool)
    case array([TOMLValue])
    case table(TOMLTable)

    var kind: String {
        switch self {
        case .string: "a string"
        case .integer: "an integer"
        case .float: "a number"
        case .bool: "true or false"
        case .array: "an array"
        case .table: "a table"
        }
    }
}

/// A table whose entries remember the line they were written on.
public struct TOMLTable: Sendable, Equatable {
    public struct Entry: Sendable, Equatable {
        public var value: TOMLValue
        public var line: Int
    }

    public private(set) var keys: [String] = []
    public private(set) var entries: [String: Entry] = [:]
    /// The line of the header (or first key) that opened this table.
    public var line: Int

    public init(line: Int) { self.line = line }

    public subscript(key: String) -> Entry? { entries[key] }

    mutating func set(_ key: String, _ entry: Entry) {
        if entries[key] == nil { keys.append(key) }
        entries[key] = entry
    }
}

public struct TOMLError: Error, Sendable, Equatable {
    public var line: Int
    public var message: String
}

extension TOMLTable {
    public static func parse(_ text: String) throws(TOMLError) -> TOMLTable {
        var root = TOMLTable(line: 1)
        var current: [String] = []
        var explicitTables = Set<[String]>()
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { Array($0.utf8) }
        var number = 0
        while number < lines.count {
            var cursor = TOMLCursor(bytes: lines[number], line: number + 1)
            number += 1
            cursor.skipSpace()
            if cursor.atEndOfContent { continue }
            if cursor.peek == UInt8(ascii: "[") {
                cursor.index += 1
                if cursor.peek == UInt8(ascii: "[") {
                    throw TOMLError(line: cursor.line, message: "arrays of tables ([[…]]) are not supported")
                }
                let path = try cursor.keyPath()
                cursor.skipSpace()
                guard cursor.peek == UInt8(ascii: "]") else {
                    throw TOMLError(line: cursor.line, message: "expected ']' to close the table header")
                }
                cursor.index += 1
                try cursor.expectEndOfLine()
                guard explicitTables.insert(path).inserted else {
                    throw TOMLError(
                        line: cursor.line, message: "table [\(path.joined(separator: "."))] is defined twice")
                }
                try root.ensureTable(path, line: cursor.line)
                current = path
                continue
            }
            let key = try cursor.keyPath()
            cursor.skipSpace()
            guard cursor.peek == UInt8(ascii: "=") else {
                throw TOMLError(line: cursor.line, message: "expected '=' after the key '\(key.joined(separator: "."))'")
            }
            cursor.index += 1
            cursor.skipSpace()
            let startLine = cursor.line
            // Arrays may continue over the following lines: feed them in as needed.
            let value = try cursor.value { () -> [UInt8]? in
                guard number < lines.count else { return nil }
                defer { number += 1 }
                return lines[number]
            }
            try cursor.expectEndOfLine()
            try root.insert(current + key, TOMLTable.Entry(value: value, line: startLine))
        }
        return root
    }

    private mutating func ensureTable(_ path: [String], line: Int) throws(TOMLError) {
        guard let head = path.first else { return }
        var child: TOMLTable
        switch entries[head]?.value {
        case nil: child = TOMLTable(line: line)
        case .table(let t):
            child = t
            // Drop the stored copy first, so `child` is the only reference and mutating it does
            // not copy a table of thousands of entries (copy-on-write) for every key.
            entries[head]!.value = .bool(false)
        default: throw TOMLError(line: line, message: "'\(head)' is already a value, not a table")
        }
        try child.ensureTable(Array(path.dropFirst()), line: line)
        set(head, Entry(value: .table(child), line: entries[head]?.line ?? line))
    }

    private mutating func insert(_ path: [String], _ entry: Entry) throws(TOMLError) {
        let head = path[0]
        if path.count == 1 {
            guard entries[head] == nil else {
                throw TOMLError(line: entry.line, message: "the key '\(head)' is set twice")
            }
            set(head, entry)
            return
        }
        try ensureTable([head], line: entry.line)
        guard case .table(var child) = entries[head]!.value else { return }
        entries[head]!.value = .bool(false)  // as in ensureTable: keep `child` unique
        try child.insert(Array(path.dropFirst()), entry)
        set(head, Entry(value: .table(child), line: entries[head]!.line))
    }
}

struct TOMLCursor {
    var bytes: [UInt8]
    var index = 0
    var line: Int

    init(bytes: [UInt8], line: Int) {
        self.bytes = bytes
        self.line = line
        if bytes.last == UInt8(ascii: "\r") { self.bytes.removeLast() }
    }

    var peek: UInt8? { index < bytes.count ? bytes[index] : nil }
    var atEndOfContent: Bool { peek == nil || peek == UInt8(ascii: "#") }

    mutating func skipSpace() {
        while let c = peek, c == 0x20 || c == 0x09 { index += 1 }
    }

    mutating func expectEndOfLine() throws(TOMLError) {
        skipSpace()
        guard atEndOfContent else { throw TOMLError(line: line, message: "unexpected text after the value") }
    }

    mutating func keyPath() throws(TOMLError) -> [String] {
        var path: [String] = []
        while true {
            skipSpace()
            path.append(try key())
            skipSpace()
            guard peek == UInt8(ascii: ".") else { return path }
            index += 1
        }
    }

    private mutating func key() throws(TOMLError) -> String {
        if peek == UInt8(ascii: "\"") { return try basicString() }
        if peek == UInt8(ascii: "'") { return try literalString() }
        let start = index
        while let c = peek, c.isBareKeyByte { index += 1 }
        guard index > start else { throw TOMLError(line: line, message: "expected a key") }
        return String(decoding: bytes[start..<index], as: UTF8.self)
    }

    mutating func value(nextLine: () -> [UInt8]?) throws(TOMLError) -> TOMLValue {
        guard let c = peek else { throw TOMLError(line: line, message: "expected a value after '='") }
        switch c {
        case UInt8(ascii: "\""):
            if bytes[index...].starts(with: Array("\"\"\"".utf8)) {
                throw TOMLError(line: line, message: "multi-line strings are not supported")
            }
            return .string(try basicString())
        case UInt8(ascii: "'"): return .string(try literalString())
        case UInt8(ascii: "["): return try array(nextLine: nextLine)
        case UInt8(ascii: "{"): throw TOMLError(line: line, message: "inline tables are not supported; use a [table]")
        default: return try scalar()
        }
    }

    private mutating func array(nextLine: () -> [UInt8]?) throws(TOMLError) -> TOMLValue {
        index += 1
        let opened = line
        var elements: [TOMLValue] = []
        while true {
            try skipToContent(nextLine: nextLine, opened: opened)
            if peek == UInt8(ascii: "]") {
                index += 1
                return .array(elements)
            }
            elements.append(try value(nextLine: nextLine))
            try skipToContent(nextLine: nextLine, opened: opened)
            if peek == UInt8(ascii: ",") {
                index += 1
            } else if peek != UInt8(ascii: "]") {
                throw TOMLError(line: line, message: "expected ',' or ']' in the array")
            }
        }
    }

    /// Whitespace, line breaks and comments may stand between array elements: move to the
    /// next content, reading further lines as needed.
    private mutating func skipToContent(nextLine: () -> [UInt8]?, opened: Int) throws(TOMLError) {
        while true {
            skipSpace()
            guard atEndOfContent else { return }
            guard let more = nextLine() else { throw TOMLError(line: opened, message: "unterminated array") }
            bytes = more
            if bytes.last == UInt8(ascii: "\r") { bytes.removeLast() }
            index = 0
            line += 1
        }
    }

    private mutating func basicString() throws(TOMLError) -> String {
        index += 1
        var out = [UInt8]()
        while let c = peek {
            index += 1
            switch c {
            case UInt8(ascii: "\""):
                guard let s = String(validating: out, as: UTF8.self) else {
                    throw TOMLError(line: line, message: "the string is not valid UTF-8")
                }
                return s
            case UInt8(ascii: "\\"):
                guard let e = peek else { break }
                index += 1
                switch e {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"): out.append(e)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "u"), UInt8(ascii: "U"):
                    let width = e == UInt8(ascii: "u") ? 4 : 8
                    guard index + width <= bytes.count,
                        let v = UInt32(String(decoding: bytes[index..<index + width], as: UTF8.self), radix: 16),
                        let scalar = Unicode.Scalar(v)
                    else { throw TOMLError(line: line, message: "bad \\u escape in a string") }
                    index += width
                    out.append(contentsOf: Array(String(Character(scalar)).utf8))
                default: throw TOMLError(line: line, message: "unknown escape '\\\(Character(Unicode.Scalar(e)))'")
                }
            default: out.append(c)
            }
        }
        throw TOMLError(line: line, message: "unterminated string")
    }

    private mutating func literalString() throws(TOMLError) -> String {
        index += 1
        let start = index
        while let c = peek, c != UInt8(ascii: "'") { index += 1 }
        guard peek != nil else { throw TOMLError(line: line, message: "unterminated string") }
        defer { index += 1 }
        return String(decoding: bytes[start..<index], as: UTF8.self)
    }

    private mutating func scalar() throws(TOMLError) -> TOMLValue {
        let start = index
        while let c = peek, c != UInt8(ascii: ","), c != UInt8(ascii: "]"), c != UInt8(ascii: "#"), c != 0x20,
            c != 0x09
        {
            index += 1
        }
        let word = String(decoding: bytes[start..<index], as: UTF8.self)
        if word == "true" { return .bool(true) }
        if word == "false" { return .bool(false) }
        let digits = word.filter { $0 != "_" }
        if let i = Int(digits) { return .integer(i) }
        if let d = Double(digits), !word.isEmpty { return .float(d) }
        throw TOMLError(
            line: line,
            message: word.isEmpty ? "expected a value" : "'\(word)' is not a value (strings need quotes)")
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
