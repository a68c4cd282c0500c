import LatchkeyBroker
import LatchkeyCore

/// A request to the socket API, decoded from HTTP/1.1.
public struct APIRequest: Sendable {
    public var method: String
    /// The path without the query, percent-decoded per segment.
    public var segments: [String]
    public var query: [(name: String, value: String)]
    public var body: [UInt8]
    /// The peer, from SO_PEERCRED (nil only in tests that build requests by hand).
    public var client: ClientIdentity?

    public init(method: String, target: String, body: [UInt8] = [], client: ClientIdentity? = nil) {
        self.method = method
        self.body = body
        self.client = client
        let parts = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        segments = parts[0].split(separator: "/").map { Self.percentDecode(String($0), plusIsSpace: false) }
        query = parts.count > 1 ? Self.parseQuery(String(parts[1])) : []
    }

    public func queryValue(_ name: String) -> String? {
        query.first { $0.name == name }?.value
    }

    public func queryValues(_ name: String) -> [String] {
        query.filter { $0.name == name }.map(\.value)
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

/// An answer: a JSON document, or a stream of events sent as JSON lines (the login stream).
public enum APIResponse: Sendable {
    case json(status: Int, JSONValue, headers: [(String, String)])
    case stream(AsyncStream<LoginEvent>)
    /// Plain text (Prometheus metrics).
    case text(String)

    public static func ok(_ json: JSONValue) -> APIResponse { .json(status: 200, json, headers: []) }

    /// Errors render themselves here, in one place: status, envelope and Retry-After.
    public static func error(_ error: LatchkeyError) -> APIResponse {
        var headers: [(String, String)] = []
        if let retryAfter = error.retryAfter { headers.append(("Retry-After", String(retryAfter))) }
        return .json(status: error.code.httpStatus, error.json, headers: headers)
    }
}
