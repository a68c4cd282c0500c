/// A socket request's target (`/v1/accounts/NAME/token?scope=a+b`), decoded: path segments
/// percent-decoded one by one, and the query's `name=value` pairs (`+` is a space there). Pure
/// over the text, so the fuzz harness reaches it without a socket.
public struct RequestTarget: Sendable {
    /// The path without the query, percent-decoded per segment; empty segments are dropped.
    public var segments: [String]
    public var query: [(name: String, value: String)]

    public init(_ target: String) {
        let parts = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        segments = parts[0].split(separator: "/").map { Self.percentDecode(String($0), plusIsSpace: false) }
        query = parts.count > 1 ? Self.parseQuery(String(parts[1])) : []
    }

    static func parseQuery(_ text: String) -> [(name: String, value: String)] {
        text.split(separator: "&").map { pair in
            let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            return (percentDecode(String(kv[0]), plusIsSpace: true), kv.count > 1 ? percentDecode(String(kv[1]), plusIsSpace: true) : "")
        }
    }

    static func percentDecode(_ s: String, plusIsSpace: Bool) -> String {
        var out = [UInt8]()
        var bytes = s.utf8.makeIterator()
        while let b = bytes.next() {
            if b == UInt8(ascii: "%"), let h = bytes.next(), let l = bytes.next(), let v = UInt8(String(decoding: [h, l], as: UTF8.self), radix: 16) {
                out.append(v)
            } else if b == UInt8(ascii: "+"), plusIsSpace {
                out.append(UInt8(ascii: " "))
            } else {
                out.append(b)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
