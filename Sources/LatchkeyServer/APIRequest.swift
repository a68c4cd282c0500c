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
        segments = parts[0].split(separator: "/").map { FormEncoding.unescape($0, plusIsSpace: false) }
        query = parts.count > 1 ? FormEncoding.pairs(parts[1]).map { (name: $0.0, value: $0.1) } : []
    }

    public func queryValue(_ name: String) -> String? {
        query.first { $0.name == name }?.value
    }

    public func queryValues(_ name: String) -> [String] {
        query.filter { $0.name == name }.map(\.value)
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
