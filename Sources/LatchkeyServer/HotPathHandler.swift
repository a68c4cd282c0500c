#if canImport(Glibc)
import Glibc
#endif
import LatchkeyBroker
import LatchkeyCore
import Logging
import NIOCore

/// First on every connection: answers the two cached routes — `GET /v1/accounts/NAME/header`
/// and `…/token`, no query, no body — from `HotAnswers` without leaving the event loop, with
/// a strict reading of the request head. Everything else, or a request the table cannot
/// answer (no published token, too little time left, another user), hands the connection and
/// every byte not yet answered to SwiftNIO's HTTP/1.1 pipeline (`install`) for good; this
/// handler then only passes bytes on. So nothing this parser does not fully understand is
/// answered by it: folded or malformed headers, bare `\n`, bodies, chunked encoding, HTTP/1.0,
/// queries, percent-encoding and oversize heads all meet NIO's decoder and the router.
///
/// The audit line: the first hand-out of each account on a connection is logged as the router
/// logs one; further ones on the same connection (the same process) are counted and logged
/// once when it closes.
///
/// Backpressure: while the socket takes no more answers (the channel is not writable), no more
/// bytes are read or answered, on either path — a client that sends without reading cannot make
/// answers pile up in the daemon's memory, and the idle limit closes it.
final class HotPathHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// Longer heads are not for this parser (NIO's decoder applies its own 80 KiB limit).
    static let maximumHeadBytes = 8 * 1024

    private let hot: HotAnswers
    private let client: ClientIdentity?
    private let ownUID: UInt32
    private let logger: Logger
    private let idleTimeout: TimeAmount
    private let install: (ChannelHandlerContext) throws -> Void
    private var delegated = false
    private var pending: ByteBuffer?
    /// Requests are waiting in `pending` until the channel is writable again.
    private var paused = false
    /// A read was held back while the channel was not writable.
    private var readHeld = false
    private var wrote = false
    private var closing = false
    private var idleTimer: Scheduled<Void>?
    /// Since when the connection waits for its next complete request head.
    private var waitingSince = NIODeadline.now()
    /// Hand-outs on this connection, by account, for the audit line at close.
    private var handOuts: [String: Int] = [:]

    init(hot: HotAnswers, client: ClientIdentity?, ownUID: UInt32, logger: Logger, idleTimeout: TimeAmount,
         install: @escaping (ChannelHandlerContext) throws -> Void) {
        self.hot = hot
        self.client = client
        self.ownUID = ownUID
        self.logger = logger
        self.idleTimeout = idleTimeout
        self.install = install
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { scheduleIdleCheck(context: context, in: idleTimeout) }
    }

    func channelActive(context: ChannelHandlerContext) {
        if idleTimer == nil { scheduleIdleCheck(context: context, in: idleTimeout) }
        context.fireChannelActive()
    }

    /// One timer per connection, not one per request: when it fires early (a request was
    /// answered meanwhile) it is set again for the rest of the wait.
    private func scheduleIdleCheck(context: ChannelHandlerContext, in delay: TimeAmount) {
        let loop = context.eventLoop
        let bound = NIOLoopBound((self, context), eventLoop: loop)
        idleTimer = loop.scheduleTask(in: delay) {
            let (handler, context) = bound.value
            // Also after a `Connection: close` answer: a client that never reads it must not
            // hold the connection.
            guard !handler.delegated else { return }
            let waited = NIODeadline.now() - handler.waitingSince
            if waited >= handler.idleTimeout {
                handler.logger.debug("closing a connection that sent no complete request in time")
                context.close(promise: nil)
            } else {
                handler.scheduleIdleCheck(context: context, in: handler.idleTimeout - waited)
            }
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if delegated {
            context.fireChannelRead(data)
            return
        }
        guard !closing else { return }
        var buffer = unwrapInboundIn(data)
        if var earlier = pending {
            pending = nil
            earlier.writeBuffer(&buffer)
            buffer = earlier
        }
        process(context: context, buffer)
    }

    /// Answers the complete requests in `buffer`, in order, until one needs NIO's pipeline or
    /// the socket takes no more answers; what is left waits in `pending`.
    private func process(context: ChannelHandlerContext, _ bytes: ByteBuffer) {
        var buffer = bytes
        while buffer.readableBytes > 0 {
            guard context.channel.isWritable else {
                pending = buffer
                paused = true
                return
            }
            guard let end = Self.headEnd(buffer) else {
                // Whatever cannot become a cached request goes to NIO at once, as it arrived.
                if buffer.readableBytes > Self.maximumHeadBytes || !Self.mayBecomeHot(buffer) { return handOff(context: context, buffer) }
                pending = buffer  // the rest of the head is still on its way
                return
            }
            guard case .hot(let route, let account, let close) = Self.parse(buffer, headLength: end),
                answer(context: context, route: route, account: account, close: close)
            else { return handOff(context: context, buffer) }
            buffer.moveReaderIndex(forwardBy: end)
            if close { return }  // closes after the answer; nothing more is read
        }
    }

    // MARK: Backpressure

    func read(context: ChannelHandlerContext) {
        if !context.channel.isWritable || paused {
            readHeld = true
        } else {
            context.read()
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable {
            if paused, !delegated, !closing, let waiting = pending {
                paused = false
                pending = nil
                process(context: context, waiting)
                flushAnswers(context: context)
            }
            if readHeld, !paused, context.channel.isWritable {
                readHeld = false
                context.read()
            }
        }
        context.fireChannelWritabilityChanged()
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        flushAnswers(context: context)
        context.fireChannelReadComplete()
    }

    func channelInactive(context: ChannelHandlerContext) {
        idleTimer?.cancel()
        idleTimer = nil
        for (account, count) in handOuts where count > 1 {
            logger.info("connection closed", metadata: [
                "account": "\(account)", "pid": "\(client?.pid ?? 0)", "exe": "\(client?.executable ?? "?")", "handed_out": "\(count)",
            ])
        }
        handOuts = [:]
        context.fireChannelInactive()
    }

    /// Writes the cached answer; false when the table cannot answer this request.
    private func answer(context: ChannelHandlerContext, route: Route, account name: String, close: Bool) -> Bool {
        guard let client, client.uid == ownUID else { return false }  // the router refuses it, counted
        let now = WallClock.now()
        guard let entry = hot.servable(name, now: now) else { return false }
        switch route {
        case .header:
            if close {
                context.write(wrapOutboundOut(entry.header.getSlice(at: 0, length: entry.headerHeadEnd)!), promise: nil)
                context.write(wrapOutboundOut(ByteBuffer(staticString: "Connection: close\r\n")), promise: nil)
                let rest = entry.header.getSlice(at: entry.headerHeadEnd, length: entry.header.readableBytes - entry.headerHeadEnd)!
                finish(context: context, rest, close: true)
            } else {
                finish(context: context, entry.header, close: false)
            }
        case .token:
            let expiresIn = String(Int(clamping: entry.token.remaining(at: now), to: 0...Int.max) ?? 0)
            let length = entry.tokenBodyPrefix.readableBytes + expiresIn.utf8.count + 2
            var out = context.channel.allocator.buffer(capacity: length + 160)
            out.writeString("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: \(length)\r\nCache-Control: no-store\r\n")
            if close { out.writeStaticString("Connection: close\r\n") }
            out.writeStaticString("\r\n")
            out.writeImmutableBuffer(entry.tokenBodyPrefix)
            out.writeString(expiresIn)
            out.writeStaticString("}\n")
            finish(context: context, out, close: close)
        }
        hot.countHandOut()
        let count = handOuts[name, default: 0] + 1
        handOuts[name] = count
        if count == 1 {
            AuditLine.handedOut(logger, account: name, client: client, scheme: "Bearer", scopes: entry.scopes)
        }
        return true
    }

    private func finish(context: ChannelHandlerContext, _ bytes: ByteBuffer, close: Bool) {
        waitingSince = .now()
        if close {
            closing = true
            context.writeAndFlush(wrapOutboundOut(bytes)).whenComplete { [channel = context.channel] _ in channel.close(promise: nil) }
        } else {
            context.write(wrapOutboundOut(bytes), promise: nil)
            wrote = true
        }
    }

    /// Sends what `finish` wrote without flushing (one flush per read, not per answer).
    private func flushAnswers(context: ChannelHandlerContext) {
        guard wrote else { return }
        wrote = false
        context.flush()
    }

    /// From here on NIO's pipeline has the connection, starting with `bytes`.
    private func handOff(context: ChannelHandlerContext, _ bytes: ByteBuffer) {
        delegated = true
        idleTimer?.cancel()
        idleTimer = nil
        flushAnswers(context: context)
        do {
            try install(context)
        } catch {
            logger.debug("could not set up the HTTP pipeline", metadata: ["error": "\(error)"])
            context.close(promise: nil)
            return
        }
        context.fireChannelRead(wrapInboundOut(bytes))
    }

    // MARK: The strict request-head reader

    enum Route: Equatable { case header, token }
    enum Head: Equatable {
        case hot(Route, account: String, close: Bool)
        case other
    }

    /// The length of the head up to and including its blank line, if it is all there.
    static func headEnd(_ buffer: ByteBuffer) -> Int? {
        buffer.withUnsafeReadableBytes { raw -> Int? in
            let n = min(raw.count, maximumHeadBytes)
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
    }

    /// Whether an incomplete head may still become a cached request: its request line so far
    /// is the start of one, and what follows has no bare `\n` (which only NIO's lenient decoder
    /// reads) and no byte a header field may not hold. Anything else goes to NIO at once, which
    /// answers a malformed request without waiting for the rest.
    static func mayBecomeHot(_ buffer: ByteBuffer) -> Bool {
        buffer.withUnsafeReadableBytes { raw -> Bool in
            func startsWith(_ at: Int, _ text: StaticString) -> Bool {
                let n = min(raw.count - at, text.utf8CodeUnitCount)
                return n <= 0 || memcmp(raw.baseAddress! + at, text.utf8Start, n) == 0
            }
            guard startsWith(0, "GET /v1/accounts/") else { return false }
            var i = min(17, raw.count)
            while i < raw.count, raw[i].isAccountNameByte { i += 1 }
            guard i == raw.count || (i > 17 && (startsWith(i, "/header HTTP/1.1\r\n") || startsWith(i, "/token HTTP/1.1\r\n"))) else { return false }
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
    }

    /// `.hot` only for exactly `GET /v1/accounts/NAME/(header|token) HTTP/1.1`, CRLF line
    /// ends, well-formed header fields and none that ask for more (a body, an upgrade, an
    /// expectation); `Connection` may only be `close` or `keep-alive`.
    static func parse(_ buffer: ByteBuffer, headLength: Int) -> Head {
        buffer.withUnsafeReadableBytes { raw -> Head in
            let head = UnsafeRawBufferPointer(rebasing: raw[0..<headLength])
            let prefix: StaticString = "GET /v1/accounts/"
            let p = UnsafeRawBufferPointer(start: prefix.utf8Start, count: prefix.utf8CodeUnitCount)
            guard head.count > p.count, memcmp(head.baseAddress!, p.baseAddress!, p.count) == 0 else { return .other }
            var i = p.count
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
    }

    /// RFC 9110 `tchar`.
    private static func isTokenByte(_ b: UInt8) -> Bool {
        if b.isAccountNameByte { return true }
        switch b {
        case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"), UInt8(ascii: "'"),
            UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "^"), UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"):
            return true
        default: return false
        }
    }

    /// Visible characters, space and tab (no obs-text, no controls).
    private static func isValueByte(_ b: UInt8) -> Bool { (b >= 0x20 && b <= 0x7E) || b == 9 }

    private static func matches(_ head: UnsafeRawBufferPointer, at i: Int, _ text: StaticString) -> Bool {
        let n = text.utf8CodeUnitCount
        guard i + n <= head.count else { return false }
        return memcmp(head.baseAddress! + i, text.utf8Start, n) == 0
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
