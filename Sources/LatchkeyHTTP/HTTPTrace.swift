import LatchkeyCore
import Synchronization

/// `latchkey diagnose --trace`: every HTTP exchange of the process, with every secret
/// replaced by "[redacted]" before it is handed to the sink — Authorization and cookie
/// headers, and the values of token, code, password and secret fields in form and JSON bodies.
public enum HTTPTrace {
    private static let sink = Mutex<(@Sendable (String) -> Void)?>(nil)

    /// Starts (or, with nil, stops) tracing.
    public static func setSink(_ newSink: (@Sendable (String) -> Void)?) {
        sink.withLock { $0 = newSink }
    }

    static var isEnabled: Bool { sink.withLock { $0 != nil } }

    static let secretHeaders: Set<String> = [
        "authorization", "proxy-authorization", "cookie", "set-cookie", "www-authenticate-negotiate",
    ]
    static let secretFields: Set<String> = [
        "access_token", "refresh_token", "id_token", "code", "code_verifier", "device_code", "password",
        "client_secret",
        "client_assertion", "assertion", "token", "user_code", "state",
    ]

    static func record(_ request: HTTPRequest, _ result: Result<HTTPResponse, HTTPError>) {
        guard let write = sink.withLock({ $0 }) else { return }
        var lines = ["> \(request.method) \(redactURL(request.url))"]
        for (name, value) in request.headers { lines.append("> \(name): \(redactHeader(name, value))") }
        if let body = request.body { lines.append("> " + redactBody(body.reveal())) }
        switch result {
        case .success(let response):
            lines.append("< \(response.status)")
            for (name, value) in response.headers { lines.append("< \(name): \(redactHeader(name, value))") }
            if !response.body.isEmpty { lines.append("< " + redactBody(response.body)) }
        case .failure(let error):
            lines.append("< (no answer: \(error.message))")
        }
        write(lines.joined(separator: "\n"))
    }

    static func redactHeader(_ name: String, _ value: String) -> String {
        let lower = name.lowercased()
        if secretHeaders.contains(lower) {
            // Keep the scheme, so the trace still shows Bearer, Basic or Negotiate.
            let scheme = value.split(separator: " ", maxSplits: 1).first.map(String.init) ?? ""
            return lower.hasSuffix("authorization") && !scheme.isEmpty ? scheme + " [redacted]" : "[redacted]"
        }
        return value
    }

    /// A query's secret parameters redacted.
    static func redactURL(_ url: String) -> String {
        guard let question = url.firstIndex(of: "?") else { return url }
        return String(url[...question]) + redactForm(url[url.index(after: question)...])
    }

    static func redactForm(_ form: Substring) -> String {
        form.split(separator: "&", omittingEmptySubsequences: false).map { part in
            let name = part.prefix { $0 != "=" }
            return secretFields.contains(FormEncoding.unescape(name).lowercased()) && part.count > name.count
                ? name + "=[redacted]" : String(part)
        }.joined(separator: "&")
    }

    static func redactBody(_ bytes: [UInt8]) -> String {
        let text = String(decoding: bytes.prefix(4096), as: UTF8.self)
        if let json = try? JSONValue.parse(bytes), json.isObject { return redactJSON(json).encoded }
        // JSON the reader refuses (cut off, a member twice, `1e400`) still holds tokens: never
        // read it as a form, whose redaction would not recognise them.
        let json = text.drop { $0 == " " || $0 == "\t" || $0.isNewline }.first.map { $0 == "{" || $0 == "[" } ?? false
        if !json && text.contains("=") && !text.contains("<") && !text.contains(" ") {
            return redactForm(Substring(text))
        }
        // Anything else (HTML, XML, text) may echo a secret nobody can recognise: its size only.
        return "(\(bytes.count) bytes of \(text.hasPrefix("<") ? "markup" : "text"), not shown)"
    }

    static func redactJSON(_ value: JSONValue) -> JSONValue {
        switch value {
        case .object(let members):
            return .object(
                members.map { name, member in
                    secretFields.contains(name.lowercased())
                        ? (name, .string("[redacted]")) : (name, redactJSON(member))
                })
        case .array(let items):
            return .array(items.map(redactJSON))
        default:
            return value
        }
    }
}
