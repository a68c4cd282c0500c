/// Reads a TOML 1.0 document in one pass over its bytes: the lines, headers and key/value
/// pairs here, values in `TOMLParser+Values.swift`, strings in `TOMLParser+Strings.swift`.
/// Every step moves forward; nothing is read twice, so time is linear in the input.
struct TOMLParser {
    let bytes: [UInt8]
    var pos = 0
    var line = 1
    var lineStart = 0
    var arena = TOMLArena()
    /// The table the current section's keys go into, and the section's number.
    var current = 0
    var section = 0
    var sectionPath: [String] = []
    /// The dotted key being read, for messages.
    var keyPath: [String] = []
    private var columnLineStart = -1
    private var columnPos = 0
    private var columnValue = 1

    init(_ bytes: [UInt8]) {
        self.bytes = bytes
    }

    var peek: UInt8? { pos < bytes.count ? bytes[pos] : nil }

    func peek(_ offset: Int) -> UInt8? { pos + offset < bytes.count ? bytes[pos + offset] : nil }

    /// An error at the current position (or at `at`), naming the key being read.
    func fail(_ message: String, at: Int? = nil) -> TOMLError {
        var where_ = at ?? pos
        where_ = min(max(where_, 0), bytes.count)
        // The line and line start of `where_`, which may lie before or after the current line.
        var errorLine = line
        var start = lineStart
        if where_ < lineStart {
            (errorLine, start) = (1, 0)
        }
        for i in start..<where_ where bytes[i] == 0x0A {
            errorLine += 1
            start = i + 1
        }
        // Columns count characters (UTF-8 lead bytes), as an editor shows them.
        let column = bytes[start..<where_].reduce(1) { $0 + ($1 & 0xC0 == 0x80 ? 0 : 1) }
        return TOMLError(line: errorLine, column: column, key: Self.shown(keyPath), message: message)
    }

    /// A dotted key for a message: at most 100 characters (a key may be a megabyte long).
    static func shown(_ path: [String]) -> String {
        let text = path.joined(separator: ".")
        return text.count <= 100 ? text : String(text.prefix(100)) + "…"
    }

    /// The column of `pos`, counted on from the last one asked for on this line, so that
    /// asking at every value of a long line stays linear.
    var column: Int {
        mutating get {
            if columnLineStart != lineStart || columnPos > pos {
                (columnLineStart, columnPos, columnValue) = (lineStart, lineStart, 1)
            }
            for i in columnPos..<pos where bytes[i] & 0xC0 != 0x80 { columnValue += 1 }
            columnPos = pos
            return columnValue
        }
    }

    mutating func document() throws(TOMLError) {
        if let bad = Self.firstInvalidUTF8(bytes) { throw fail("the file is not valid UTF-8 text", at: bad) }
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { pos = 3; lineStart = 3 }
        while true {
            skipWhitespace()
            guard let c = peek else { return }
            keyPath = []
            switch c {
            case UInt8(ascii: "#"), 0x0A, 0x0D: break
            case UInt8(ascii: "["): try header()
            default: try keyValue()
            }
            try endOfLine()
        }
    }

    mutating func skipWhitespace() {
        while let c = peek, c == 0x20 || c == 0x09 { pos += 1 }
    }

    /// Past a line break (LF or CRLF), if one is here.
    mutating func newline() throws(TOMLError) -> Bool {
        if peek == 0x0A {
            pos += 1
        } else if peek == 0x0D {
            guard peek(1) == 0x0A else { throw fail("a carriage return (CR) must be followed by a line feed") }
            pos += 2
        } else {
            return false
        }
        line += 1
        lineStart = pos
        return true
    }

    /// Past a comment, if one is here (up to, not over, its line break).
    mutating func comment() throws(TOMLError) {
        guard peek == UInt8(ascii: "#") else { return }
        pos += 1
        while let c = peek, c != 0x0A {
            if c == 0x0D, peek(1) == 0x0A { return }
            if c.isControl { throw fail("a comment may not hold control characters (\(c.hexName))") }
            pos += 1
        }
    }

    /// Whitespace, an optional comment, then a line break or the end of the document.
    mutating func endOfLine() throws(TOMLError) {
        skipWhitespace()
        try comment()
        guard try newline() || peek == nil else {
            throw fail("unexpected text after the value: each key = value pair and [header] needs a line of its own")
        }
    }

    /// `[a.b]` or `[[a.b]]`.
    mutating func header() throws(TOMLError) {
        let headerLine = line
        let headerColumn = column
        pos += 1
        let isArray = peek == UInt8(ascii: "[")
        if isArray { pos += 1 }
        skipWhitespace()
        let path = try dottedKey()
        keyPath = path
        sectionPath = path
        skipWhitespace()
        guard peek == UInt8(ascii: "]"), !isArray || peek(1) == UInt8(ascii: "]") else {
            throw fail(
                isArray ? "expected ']]' to close the array of tables header" : "expected ']' to close the table header"
            )
        }
        pos += isArray ? 2 : 1
        section += 1
        let name = Self.shown(path)
        var table = 0
        for key in path.dropLast() {
            table = try descend(table, key, line: headerLine, column: headerColumn)
        }
        let last = path[path.count - 1]
        let existing = arena[table].children[last]
        if isArray {
            var list: Int
            if let existing {
                guard arena[existing].kind == .array, arena[existing].tableArray else {
                    throw fail(
                        "[[\(name)]] cannot add to '\(name)': it is already \(describe(existing))", at: lineStart)
                }
                list = existing
            } else {
                guard
                    let made = arena.make(
                        .array, line: headerLine, column: headerColumn, parentDepth: arena[table].depth)
                else { throw tooDeep() }
                list = made
                arena[list].tableArray = true
                arena.attach(list, as: last, to: table)
            }
            guard
                let element = arena.make(.table, line: headerLine, column: headerColumn, parentDepth: arena[list].depth)
            else { throw tooDeep() }
            arena[element].explicit = true
            arena[list].items.append(element)
            current = element
        } else if let existing {
            let node = arena[existing]
            guard node.kind == .table, !node.frozen, !node.explicit, node.dottedSection == nil else {
                let why =
                    node.kind == .table && node.explicit
                    ? "table [\(name)] is defined twice (first at line \(node.line))"
                    : "[\(name)] cannot be defined here: '\(name)' is already \(describe(existing)) (line \(node.line))"
                throw fail(why, at: lineStart)
            }
            arena[existing].explicit = true
            current = existing
        } else {
            guard let made = arena.make(.table, line: headerLine, column: headerColumn, parentDepth: arena[table].depth)
            else { throw tooDeep() }
            arena[made].explicit = true
            arena.attach(made, as: last, to: table)
            current = made
        }
    }

    /// The table a header's path goes through at `key` under `table`, made if missing; the
    /// last element of an array of tables.
    private mutating func descend(_ table: Int, _ key: String, line: Int, column: Int) throws(TOMLError) -> Int {
        guard let child = arena[table].children[key] else {
            guard let made = arena.make(.table, line: line, column: column, parentDepth: arena[table].depth)
            else { throw tooDeep() }
            arena.attach(made, as: key, to: table)
            return made
        }
        let node = arena[child]
        if node.kind == .table, !node.frozen { return child }
        if node.kind == .array, node.tableArray, let last = node.items.last { return last }
        throw fail(
            "a header cannot reach inside '\(Self.shown([key]))': it is \(describe(child)) (line \(node.line))",
            at: lineStart)
    }

    /// `key = value` in the current section.
    mutating func keyValue() throws(TOMLError) {
        let path = try dottedKey()
        keyPath = sectionPath + path
        skipWhitespace()
        guard peek == UInt8(ascii: "=") else {
            throw fail("expected '=' after the key '\(Self.shown(path))' (strings need quotes)")
        }
        pos += 1
        skipWhitespace()
        let target = try resolve(path, in: current, inline: false)
        let value = try self.value(parentDepth: arena[target].depth)
        arena.attach(value, as: path[path.count - 1], to: target)
    }

    /// The table that the last part of a dotted key goes into, made as needed (TOML 1.0
    /// §Keys, §Table: dotted keys may extend tables they made in this section only).
    mutating func resolve(_ path: [String], in start: Int, inline: Bool) throws(TOMLError) -> Int {
        var table = start
        for key in path.dropLast() {
            if let child = arena[table].children[key] {
                let node = arena[child]
                let ownSection = inline || node.dottedSection == nil || node.dottedSection == section
                guard node.kind == .table, !node.frozen, !node.explicit, ownSection else {
                    throw fail(
                        "a dotted key cannot add to '\(Self.shown([key]))': "
                            + "it is already \(describe(child)) (line \(node.line))"
                    )
                }
                table = child
            } else {
                guard let made = arena.make(.table, line: line, column: column, parentDepth: arena[table].depth)
                else { throw tooDeep() }
                arena.attach(made, as: key, to: table)
                table = made
            }
            if !inline { arena[table].dottedSection = section }
        }
        let last = path[path.count - 1]
        if let existing = arena[table].children[last] {
            throw fail("the key '\(Self.shown(path))' is already defined (line \(arena[existing].line))")
        }
        return table
    }

    func describe(_ node: Int) -> String {
        switch arena[node].kind {
        case .scalar: arena[node].scalar.kind
        case .array: arena[node].tableArray ? "an array of tables" : "an array"
        case .table:
            arena[node].frozen
                ? "an inline table" : arena[node].explicit ? "a table with its own [header]" : "a table of dotted keys"
        }
    }

    func tooDeep() -> TOMLError {
        fail("tables and arrays nest deeper than \(TOMLTable.maxDepth) levels")
    }
}

extension UInt8 {
    /// Control characters TOML allows in no comment or string: all but tab.
    var isControl: Bool { (self < 0x20 && self != 0x09) || self == 0x7F }

    var hexName: String {
        let hex = Array("0123456789ABCDEF".utf8)
        return "U+00" + String(decoding: [hex[Int(self >> 4)], hex[Int(self & 0xF)]], as: UTF8.self)
    }
}
