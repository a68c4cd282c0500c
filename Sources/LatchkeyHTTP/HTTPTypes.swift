import LatchkeyCore

/// One HTTP request. The body may hold secrets (a refresh token in a form); it is never logged.
public struct HTTPRequest: Sendable {
    public var method: String
    public var url: String
    public var headers: [(name: String, value: String)]
    public var body: Secret<[UInt8]>?

    public init(
        method: String = "GET", url: String, headers: [(name: String, value: String)] = [], body: Secret<[UInt8]>? = nil
    ) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
    }

    /// A `application/x-www-form-urlencoded` POST (RFC 6749 token requests).
    public static func form(_ url: String, _ fields: [(String, String)], headers: [(name: String, value: String)] = [])
        -> HTTPRequest
    {
        let body = fields.map { "\(FormEncoding.escape($0.0))=\(FormEncoding.escape($0.1))" }.joined(separator: "&")
        return HTTPRequest(
            method: "POST", url: url,
            headers: headers + [("Content-Type", "application/x-www-form-urlencoded"), ("Accept", "application/json")],
            body: Secret(Array(body.utf8)))
    }
}

/// How a request is sent: trust, time limits and size limits.
public struct HTTPOptions: Sendable, Equatable {
    /// An extra CA bundle (PEM) to trust, besides the system's.
    public var caFile: String?
    public var connectTimeout: Double = 10
    public var totalTimeout: Double = 30
    /// Larger answers are cut off with `responseTooLarge`: a provider cannot make us buffer without end.
    public var maximumResponseBytes: Int = 1 << 20
    public var followRedirects = false
    /// curl's `--connect-to` entries, `HOST:PORT:CONNECT-TO-HOST:CONNECT-TO-PORT`: connect there
    /// instead, still verifying the certificate for HOST (the name in the URL).
    public var connectTo: [String] = []

    public init(
        caFile: String? = nil, connectTimeout: Double = 10, totalTimeout: Double = 30,
        maximumResponseBytes: Int = 1 << 20
    ) {
        self.caFile = caFile
        self.connectTimeout = connectTimeout
        self.totalTimeout = totalTimeout
        self.maximumResponseBytes = maximumResponseBytes
    }
}

public struct HTTPResponse: Sendable {
    public var status: Int
    /// Header names as sent; look them up with `header(_:)`.
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]

    public init(status: Int, headers: [(name: String, value: String)], body: [UInt8]) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// The first header of that name, case-insensitively.
    public func header(_ name: String) -> String? {
        let wanted = name.lowercased()
        return headers.first { $0.name.lowercased() == wanted }?.value
    }

    public func headers(named name: String) -> [String] {
        let wanted = name.lowercased()
        return headers.filter { $0.name.lowercased() == wanted }.map(\.value)
    }

    public var contentType: String { header("Content-Type")?.lowercased() ?? "" }
}

/// A request that got no HTTP answer, with libcurl's own words.
public struct HTTPError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        case resolve, connect, timeout, tls, responseTooLarge, cancelled, invalidURL, other
    }

    public var kind: Kind
    /// libcurl's message (CURLOPT_ERRORBUFFER, else `curl_easy_strerror`). It names hosts and
    /// certificates, never request bodies or headers.
    public var message: String
    public var curlCode: Int

    public init(kind: Kind, message: String, curlCode: Int = 0) {
        self.kind = kind
        self.message = message
        self.curlCode = curlCode
    }

    public var description: String { message }
}
