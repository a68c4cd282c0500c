import LatchkeyCore

// toml-decoder: the decoder interface of toml-lang/toml-test (https://github.com/toml-lang/toml-test):
// reads TOML on stdin, prints the document as toml-test's tagged JSON on stdout, or the error on
// stderr with exit status 1. scripts/toml-test.sh runs the suite through it, and
// Tests/e2e/test_toml_differential.py compares it with Python's tomllib. Not a product: it ships
// nowhere.
#if canImport(Glibc)
    import Glibc
#endif

/// Everything on standard input.
func readStandardInput() -> [UInt8] {
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = read(0, &chunk, chunk.count)
        if n < 0 && errno == EINTR { continue }
        if n <= 0 { break }
        bytes.append(contentsOf: chunk[0..<n])
    }
    return bytes
}

/// A JSON string literal (RFC 8259 §7).
func quoted(_ s: String) -> String {
    var out = ""
    JSONValue.writeString(s, to: &out)
    return out
}

func tagged(_ type: String, _ value: String) -> String {
    "{\"type\":\(quoted(type)),\"value\":\(quoted(value))}"
}

/// The tagged JSON of a value. Recursion is bounded by `TOMLTable.maxDepth`.
func json(_ value: TOMLValue) -> String {
    switch value {
    case .string(let s): return tagged("string", s)
    case .integer(let i): return tagged("integer", String(i))
    case .float(let d): return tagged("float", d.isNaN ? "nan" : "\(d)")
    case .bool(let b): return tagged("bool", b ? "true" : "false")
    case .dateTime(let d):
        let type =
            d.offsetMinutes != nil
            ? "datetime"
            : d.date != nil && d.time != nil
                ? "datetime-local"
                : d.date != nil ? "date-local" : "time-local"
        return tagged(type, d.rfc3339)
    case .array(let items): return "[" + items.map(json).joined(separator: ",") + "]"
    case .table(let table):
        let members = table.keys.compactMap { key in table[key].map { quoted(key) + ":" + json($0.value) } }
        return "{" + members.joined(separator: ",") + "}"
    }
}

do {
    let document = try TOMLTable.parse(readStandardInput())
    print(json(.table(document)))
} catch {
    let message = Array("toml-decoder: \(error.description)\n".utf8)
    _ = message.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
    exit(1)
}
