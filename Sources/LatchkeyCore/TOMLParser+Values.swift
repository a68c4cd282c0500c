extension TOMLParser {
    /// An array or inline table being read: its node, and for an inline table the table and key
    /// its current value goes to.
    private struct Open {
        var node: Int
        var isArray: Bool
        var target = 0
        var key = ""
    }

    /// Reads one value and returns its node. Arrays and inline tables are read with a stack of
    /// their own, not by recursion, so nesting costs heap, never the thread's stack.
    mutating func value(parentDepth: Int) throws(TOMLError) -> Int {
        var open: [Open] = []
        let outerKey = keyPath
        while true {
            // The start of a value.
            let depth = open.last.map { arena[$0.isArray ? $0.node : $0.target].depth } ?? parentDepth
            var done: Int
            let valueLine = line
            let valueColumn = column
            if peek == nil, let top = open.last {
                let node = arena[top.node]
                throw fail(
                    "the \(top.isArray ? "array" : "inline table") opened at line \(node.line), "
                        + "column \(node.column) is never closed"
                )
            }
            if peek == UInt8(ascii: "[") || peek == UInt8(ascii: "{") {
                let isArray = peek == UInt8(ascii: "[")
                guard
                    let node = arena.make(
                        isArray ? .array : .table, line: valueLine, column: valueColumn, parentDepth: depth)
                else { throw tooDeep() }
                pos += 1
                open.append(Open(node: node, isArray: isArray))
                if isArray {
                    try skipArraySpace()
                    guard peek == UInt8(ascii: "]") else { continue }
                } else {
                    skipWhitespace()
                    guard peek == UInt8(ascii: "}") else {
                        try inlineKey(&open[open.count - 1], outerKey: outerKey)
                        continue
                    }
                }
                pos += 1
                done = close(&open)
            } else {
                done = arena.makeScalar(try scalar(), line: valueLine, column: valueColumn)
            }
            // The end of a value: add it to the container it is in, then close as many as end here.
            while let top = open.last {
                if top.isArray {
                    arena[top.node].items.append(done)
                    try skipArraySpace()
                    if peek == UInt8(ascii: ",") {
                        pos += 1
                        try skipArraySpace()
                        guard peek == UInt8(ascii: "]") else { break }
                    } else if peek != UInt8(ascii: "]") {
                        throw fail("expected ',' or ']' after an element of the array")
                    }
                } else {
                    arena.attach(done, as: top.key, to: top.target)
                    skipWhitespace()
                    if peek == UInt8(ascii: ",") {
                        pos += 1
                        skipWhitespace()
                        try inlineKey(&open[open.count - 1], outerKey: outerKey)
                        break
                    } else if peek != UInt8(ascii: "}") {
                        throw fail(
                            "expected ',' or '}' after a value of the inline table (an inline table stays on one line)")
                    }
                }
                pos += 1
                done = close(&open)
            }
            if open.isEmpty {
                keyPath = outerKey
                return done
            }
        }
    }

    private mutating func close(_ open: inout [Open]) -> Int {
        let node = open.removeLast().node
        arena[node].frozen = true
        return node
    }

    /// `key =` inside an inline table: where its value goes.
    private mutating func inlineKey(_ top: inout Open, outerKey: [String]) throws(TOMLError) {
        guard peek != UInt8(ascii: "}") else {
            throw fail("a comma may not come before the '}' that closes an inline table in TOML 1.0")
        }
        let path = try dottedKey()
        keyPath = outerKey + path
        skipWhitespace()
        guard peek == UInt8(ascii: "=") else { throw fail("expected '=' after the key '\(Self.shown(path))'") }
        pos += 1
        skipWhitespace()
        top.target = try resolve(path, in: top.node, inline: true)
        top.key = path[path.count - 1]
    }

    /// Whitespace, line breaks and comments, as they may stand between array elements.
    private mutating func skipArraySpace() throws(TOMLError) {
        while true {
            skipWhitespace()
            try comment()
            guard try newline() else { return }
        }
    }

    /// A string, number, boolean or date-time.
    mutating func scalar() throws(TOMLError) -> TOMLValue {
        guard let c = peek else { throw fail("expected a value after '='") }
        switch c {
        case UInt8(ascii: "\""), UInt8(ascii: "'"): return .string(try string())
        case UInt8(ascii: "t") where bytes[pos...].starts(with: "true".utf8):
            pos += 4
            return .bool(true)
        case UInt8(ascii: "f") where bytes[pos...].starts(with: "false".utf8):
            pos += 5
            return .bool(false)
        default: break
        }
        let start = pos
        let dateTime: TOMLDateTime?
        do throws(TOMLScanError) {
            dateTime = try TOMLDateTime.scan(bytes, &pos)
        } catch {
            throw fail("'\(word(from: start))' is not a valid date or time: \(error.message)", at: start)
        }
        if let dateTime {
            try checkEndOfValue(start, "a date or time")
            return .dateTime(dateTime)
        }
        guard let number = TOMLNumber.scan(bytes, &pos) else {
            let text = word(from: start)
            throw fail(
                text.isEmpty ? "expected a value" : "'\(text)' is not a value (strings need quotes: \"\(text)\")",
                at: start)
        }
        try checkEndOfValue(start, "a number")
        switch number {
        case .integer(let i): return .integer(i)
        case .float(let d): return .float(d)
        case .outOfRange: throw fail("'\(word(from: start))' is out of range for a 64-bit integer", at: start)
        }
    }

    /// A value must be followed by whitespace, a comment, a line break or a delimiter: `01`,
    /// `1__2` and `1979-05-27T07:32` are refused as a whole, not read in part.
    private mutating func checkEndOfValue(_ start: Int, _ what: String) throws(TOMLError) {
        guard let c = peek,
            c.isBareKeyByte || c == UInt8(ascii: ".") || c == UInt8(ascii: ":")
                || c == UInt8(ascii: "+") || c >= 0x80
        else { return }
        let text = word(from: start)
        let hint =
            text.first == "0" && text.count > 1 && text.dropFirst().first?.isNumber == true && !text.contains("-")
                && !text.contains(":")
            ? " (a leading zero is not allowed)"
            : text.includes("__") || text.hasSuffix("_") || text.includes("_.") || text.includes("._")
                ? " ('_' must stand between two digits)" : ""
        throw fail("'\(text)' is not \(what) TOML accepts\(hint)", at: start)
    }

    /// The text from `start` to the next delimiter, for messages (at most 40 characters).
    private func word(from start: Int) -> String {
        var end = start
        while end < bytes.count, end - start < 40, !Self.delimiters.contains(bytes[end]) { end += 1 }
        return String(decoding: bytes[start..<end], as: UTF8.self)
    }

    private static let delimiters: Set<UInt8> = [0x20, 0x09, 0x0A, 0x0D, 0x23, 0x2C, 0x5D, 0x7D]
}
