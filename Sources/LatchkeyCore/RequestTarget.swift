/// A socket request's target (`/v1/accounts/NAME/token?scope=a+b`), decoded: path segments
/// percent-decoded one by one, and the query's `name=value` pairs as form decoding reads them
/// (`FormEncoding`: `+` is a space there, a malformed escape stays as it is). Pure over the
/// text, so the fuzz harness reaches it without a socket.
public struct RequestTarget: Sendable {
    /// The path without the query, percent-decoded per segment; empty segments are dropped.
    public var segments: [String]
    public var query: [(name: String, value: String)]

    public init(_ target: String) {
        let parts = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        segments = parts[0].split(separator: "/").map { FormEncoding.unescape($0, plusIsSpace: false) }
        query = parts.count > 1 ? FormEncoding.pairs(parts[1]).map { (name: $0.0, value: $0.1) } : []
    }
}
