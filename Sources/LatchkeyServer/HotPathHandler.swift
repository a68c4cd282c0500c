import LatchkeyBroker
import LatchkeyCore
import Logging
import NIOCore

#if canImport(Glibc)
    import Glibc
#endif

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
    static let maximumHeadBytes = RequestHead.maximumBytes

    private let hot: HotAnswers
    private let client: ClientIdentity?
    private let ownUID: UInt32
    private let logger: Logger
    private let idleTimeout: TimeAmount
    /// Adds NIO's pipeline after this handler; it is told since when the request is awaited.
    private let install: (ChannelHandlerContext, NIODeadline) throws -> Void
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

    init(
        hot: HotAnswers, client: ClientIdentity?, ownUID: UInt32, logger: Logger, idleTimeout: TimeAmount,
        install: @escaping (ChannelHandlerContext, NIODeadline) throws -> Void
    ) {
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
                if buffer.readableBytes > Self.maximumHeadBytes || !Self.mayBecomeHot(buffer) {
                    return handOff(context: context, buffer)
                }
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
            logger.info(
                "connection closed",
                metadata: [
                    "account": "\(account)", "pid": "\(client?.pid ?? 0)", "exe": "\(client?.executable ?? "?")",
                    "handed_out": "\(count)",
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
                let rest = entry.header.getSlice(
                    at: entry.headerHeadEnd, length: entry.header.readableBytes - entry.headerHeadEnd)!
                finish(context: context, rest, close: true)
            } else {
                finish(context: context, entry.header, close: false)
            }
        case .token:
            let expiresIn = String(Int(clamping: entry.token.remaining(at: now), to: 0...Int.max) ?? 0)
            let length = entry.tokenBodyPrefix.readableBytes + expiresIn.utf8.count + 2
            var out = context.channel.allocator.buffer(capacity: length + 160)
            out.writeString(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: \(length)\r\nCache-Control: no-store\r\n"
            )
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
            context.writeAndFlush(wrapOutboundOut(bytes)).whenComplete { [channel = context.channel] _ in
                channel.close(promise: nil)
            }
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
            try install(context, waitingSince)
        } catch {
            logger.debug("could not set up the HTTP pipeline", metadata: ["error": "\(error)"])
            context.close(promise: nil)
            return
        }
        context.fireChannelRead(wrapInboundOut(bytes))
    }

    // MARK: The strict request-head reader (RequestHead, in LatchkeyCore)

    typealias Route = RequestHead.Route
    typealias Head = RequestHead.Reading

    /// The length of the head up to and including its blank line, if it is all there.
    static func headEnd(_ buffer: ByteBuffer) -> Int? {
        buffer.withUnsafeReadableBytes(RequestHead.end)
    }

    /// Whether an incomplete head may still become a cached request (`RequestHead.mayBecomeHot`).
    /// Anything else goes to NIO at once, which answers a malformed request without waiting.
    static func mayBecomeHot(_ buffer: ByteBuffer) -> Bool {
        buffer.withUnsafeReadableBytes(RequestHead.mayBecomeHot)
    }

    /// `.hot` only for a plain request for a cached route (`RequestHead.read`).
    static func parse(_ buffer: ByteBuffer, headLength: Int) -> Head {
        buffer.withUnsafeReadableBytes { RequestHead.read(UnsafeRawBufferPointer(rebasing: $0[0..<headLength])) }
    }
}
