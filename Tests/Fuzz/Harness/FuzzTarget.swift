import LatchkeyCore
import LatchkeyDiscovery
import LatchkeyHTTP
import LatchkeyOAuth

#if canImport(Glibc)
    import Glibc
#endif

/// One parser that sees outside bytes, fed as its caller feeds it. Each `run` is a few lines on
/// purpose: when a parser's entry point changes, only its line here changes. A property that
/// must hold on every input (a round trip) fails through `violated`, which aborts like a crash.
struct FuzzTarget: Sendable {
    var name: String
    var run: @Sendable ([UInt8]) -> Void

    static let all: [FuzzTarget] = [
        // The socket: the hot path's strict head reader, as HotPathHandler drives it.
        // Each buffer is allocated to its exact size, so AddressSanitizer sees a read past it.
        FuzzTarget(name: "head") { bytes in
            exactly(bytes[...]) { raw in
                if let end = RequestHead.end(raw) {
                    exactly(bytes[..<end]) { _ = RequestHead.read($0) }
                } else {
                    _ = RequestHead.mayBecomeHot(raw)
                }
            }
        },
        // The router's target: path segments and query, percent-decoded as form decoding does.
        FuzzTarget(name: "target") { bytes in
            let target = text(bytes)
            let query = RequestTarget(target).query
            guard let mark = target.firstIndex(of: "?") else { return }
            let pairs = FormEncoding.pairs(target[target.index(after: mark)...])
            if !query.elementsEqual(pairs, by: { $0.name == $1.0 && $0.value == $1.1 }) {
                violated("target: query != form pairs")
            }
        },
        FuzzTarget(name: "json") { bytes in
            if let value = try? JSONValue.parse(bytes) { _ = value.encoded }
        },
        // The config file as latchkeyd reads it: TOML, then the mapping to Configuration.
        FuzzTarget(name: "toml") { bytes in
            _ = try? Configuration.parse(text(bytes), file: "fuzz.toml")
        },
        // One field value per line, as a server sends them (a few: the 16th holds the rest).
        FuzzTarget(name: "www-authenticate") { bytes in
            let fields = bytes.split(separator: 10, maxSplits: 15, omittingEmptySubsequences: false).map {
                text(Array($0))
            }
            for challenge in WWWAuthenticate.parse(fields) { _ = challenge.headerValue }
        },
        FuzzTarget(name: "autodiscover") { bytes in
            _ = Autodiscover.describePOX(bytes)
        },
        FuzzTarget(name: "url") { bytes in
            _ = URLParts(text(bytes))?.isLoopback
        },
        FuzzTarget(name: "form") { bytes in
            let s = text(bytes)
            _ = FormEncoding.pairs(s[...])
            if FormEncoding.unescape(FormEncoding.escape(s)[...]) != s { violated("form: unescape(escape(s)) != s") }
        },
        FuzzTarget(name: "base64") { bytes in
            _ = Base64.decode(text(bytes))
            if Base64.decode(Base64.encode(bytes)) != bytes { violated("base64: decode(encode(b)) != b") }
            if Base64.decode(Base64.encodeURL(bytes)) != bytes { violated("base64: decode(encodeURL(b)) != b") }
        },
        // Provider answers: the body through OAuthClient.read, then the reader of that answer.
        FuzzTarget(name: "device") { bytes in
            guard let json = try? OAuthClient.read(answer(200, bytes)) else { return }
            _ = try? DeviceAuthorization(json: json)
        },
        FuzzTarget(name: "token") { bytes in
            guard let json = try? OAuthClient.read(answer(200, bytes)) else { return }
            _ = (try? TokenResponse(json: json))?.accessToken(
                issuedAt: Timestamp(secondsSinceEpoch: 1.8e9), requestedScopes: [])
        },
        // An error answer: the first line is the Retry-After value, the rest the body.
        FuzzTarget(name: "provider-error") { bytes in
            let newline = bytes.firstIndex(of: 10) ?? bytes.count
            let retryAfter = String(decoding: bytes[..<newline], as: UTF8.self)
            let body = Array(bytes[min(newline + 1, bytes.count)...])
            for status in [400, 429, 503] {
                do throws(OAuthError) {
                    _ = try OAuthClient.read(
                        HTTPResponse(status: status, headers: [("Retry-After", retryAfter)], body: body))
                } catch {
                    _ = error.description
                    _ = error.isTransient
                }
            }
        },
        FuzzTarget(name: "discovery") { bytes in
            guard let json = try? OAuthClient.read(answer(200, bytes)) else { return }
            _ = try? ProviderMetadata(discoveryDocument: json)
        },
    ]
}

/// The bytes in a heap block of exactly their size (an Array may have spare capacity).
private func exactly(_ bytes: ArraySlice<UInt8>, _ body: (UnsafeRawBufferPointer) -> Void) {
    let block = UnsafeMutableRawBufferPointer.allocate(byteCount: bytes.count, alignment: 1)
    defer { block.deallocate() }
    block.copyBytes(from: bytes)
    body(UnsafeRawBufferPointer(block))
}

private func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

private func answer(_ status: Int, _ body: [UInt8]) -> HTTPResponse {
    HTTPResponse(status: status, headers: [("Content-Type", "application/json")], body: body)
}

/// A property that must hold on every input does not: reported and aborted like a crash.
private func violated(_ what: String) -> Never {
    report("property violated: \(what)")
    abort()
}
