/// The strict reader of a socket request head, pure over bytes (LatchkeyServer's hot path reads
/// a `ByteBuffer` through it; the fuzz harness feeds it directly). It recognises exactly
/// `GET /v1/accounts/NAME/(header|token) HTTP/1.1`, CRLF line ends, well-formed header fields
/// and none that ask for more (a body, an upgrade, an expectation); `Connection` may only be
/// `close` or `keep-alive`. Anything else is `.other`, for SwiftNIO's decoder and the router.
public enum RequestHead {
    /// Longer heads are not for this reader (NIO's decoder applies its own 80 KiB limit).
    public static let maximumBytes = 8 * 1024

    public enum Route: Equatable, Sendable { case header, token }
    public enum Reading: Equatable, Sendable {
        case hot(Route, account: String, close: Bool)
        case other
    }

    /// The length of the head up to and including its blank line, if it is all there.
    public static func end(_ raw: UnsafeRawBufferPointer) -> Int? {
        let n = min(raw.count, maximumBytes)
        guard n >= 4 else { return nil }
        var i = 3
        while i < n {
            let b = raw[i]
            if b == 10 {
                if raw[i - 1] == 13 && raw[i - 2] == 10 && raw[i - 3] == 13 { return i + 1 }
                i += 1
            } else if b == 13 {
                i += 1
            } else {
                i += 4  // no \r\n\r\n can end before i+4: skip ahead
            }
        }
        return nil
    }

    /// Whether an incomplete head may still become a cached request: its request line so far
    /// is the start of one, and what follows has no bare `\n` (which only NIO's lenient decoder
    /// reads) and no byte a header field may not hold.
    public static func mayBecomeHot(_ raw: UnsafeRawBufferPointer) -> Bool {
        func startsWith(_ at: Int, _ text: StaticString) -> Bool {
            let n = min(raw.count - at, text.utf8CodeUnitCount)
            return n <= 0 || same(raw, at, text, n)
        }
        guard startsWith(0, "GET /v1/accounts/") else { return false }
        var i = min(17, raw.count)
        while i < raw.count, raw[i].isAccountNameByte { i += 1 }
        guard
            i == raw.count
                || (i > 17 && (startsWith(i, "/header HTTP/1.1\r\n") || startsWith(i, "/token HTTP/1.1\r\n")))
        else { return false }
        for k in i..<raw.count {
            let b = raw[k]
            if b == 10 {
                if k == 0 || raw[k - 1] != 13 { return false }
            } else if !(isValueByte(b) || b == 13) {
                return false
            }
        }
        return true
    }

    /// Reads a complete head (`end` bytes long, blank line included).
    public static func read(_ head: UnsafeRawBufferPointer) -> Reading {
        let prefix: StaticString = "GET /v1/accounts/"
        guard head.count > prefix.utf8CodeUnitCount, same(head, 0, prefix, prefix.utf8CodeUnitCount) else {
            return .other
        }
        var i = prefix.utf8CodeUnitCount
        let nameStart = i
        while i < head.count, head[i].isAccountNameByte { i += 1 }
        let nameEnd = i
        guard nameEnd > nameStart else { return .other }
        let route: Route
        if matches(head, at: i, "/header HTTP/1.1\r\n") {
            route = .header
            i += 18
        } else if matches(head, at: i, "/token HTTP/1.1\r\n") {
            route = .token
            i += 17
        } else {
            return .other
        }
        var close = false
        // Header fields: `name: value\r\n` until the blank line.
        while true {
            guard i + 1 < head.count else { return .other }
            if head[i] == 13 && head[i + 1] == 10 { break }
            let fieldStart = i
            while i < head.count, isTokenByte(head[i]) { i += 1 }
            guard i > fieldStart, i < head.count, head[i] == UInt8(ascii: ":") else { return .other }
            let nameRange = fieldStart..<i
            i += 1
            while i < head.count, head[i] == 32 || head[i] == 9 { i += 1 }
            let valueStart = i
            while i < head.count, isValueByte(head[i]) { i += 1 }
            var valueEnd = i
            guard i + 1 < head.count, head[i] == 13, head[i + 1] == 10 else { return .other }
            i += 2
            while valueEnd > valueStart, head[valueEnd - 1] == 32 || head[valueEnd - 1] == 9 { valueEnd -= 1 }
            let name = UnsafeRawBufferPointer(rebasing: head[nameRange])
            if equalsIgnoringCase(name, "content-length") || equalsIgnoringCase(name, "transfer-encoding")
                || equalsIgnoringCase(name, "expect") || equalsIgnoringCase(name, "upgrade")
            {
                return .other
            }
            if equalsIgnoringCase(name, "connection") {
                let value = UnsafeRawBufferPointer(rebasing: head[valueStart..<valueEnd])
                if equalsIgnoringCase(value, "close") {
                    close = true
                } else if !equalsIgnoringCase(value, "keep-alive") {
                    return .other
                }
            }
        }
        guard i + 2 == head.count else { return .other }
        let bytes = UnsafeRawBufferPointer(rebasing: head[nameStart..<nameEnd])
        return .hot(route, account: String(decoding: bytes, as: UTF8.self), close: close)
    }

    /// RFC 9110 `tchar`.
    private static func isTokenByte(_ b: UInt8) -> Bool {
        if b.isAccountNameByte { return true }
        switch b {
        case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"),
            UInt8(ascii: "'"),
            UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "^"), UInt8(ascii: "`"), UInt8(ascii: "|"),
            UInt8(ascii: "~"):
            return true
        default: return false
        }
    }

    /// Visible characters, space and tab (no obs-text, no controls).
    private static func isValueByte(_ b: UInt8) -> Bool { (b >= 0x20 && b <= 0x7E) || b == 9 }

    private static func matches(_ head: UnsafeRawBufferPointer, at i: Int, _ text: StaticString) -> Bool {
        let n = text.utf8CodeUnitCount
        return i + n <= head.count && same(head, i, text, n)
    }

    /// The `n` bytes of `raw` from `at` are the first `n` of `text`.
    private static func same(_ raw: UnsafeRawBufferPointer, _ at: Int, _ text: StaticString, _ n: Int) -> Bool {
        let t = text.utf8Start
        for k in 0..<n where raw[at + k] != t[k] { return false }
        return true
    }

    private static func equalsIgnoringCase(_ bytes: UnsafeRawBufferPointer, _ lower: StaticString) -> Bool {
        guard bytes.count == lower.utf8CodeUnitCount else { return false }
        let l = lower.utf8Start
        for k in 0..<bytes.count {
            var b = bytes[k]
            if b >= 0x41 && b <= 0x5A { b |= 0x20 }
            if b != l[k] { return false }
        }
        return true
    }
}
