import LatchkeyBroker
import LatchkeyCore
import Logging
import NIOCore
import NIOHTTP1

/// One connection's HTTP/1.1 exchanges: collects a request (with a body cap), hands it to the
/// router as a job of the server's `work` (a child of the server's `run`, never an unowned
/// task), writes the answer back on the event loop (keep-alive, or a chunked stream).
final class HTTPHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    static let maximumBodyBytes = 64 * 1024
    /// The request line and headers: SwiftNIO's decoder refuses more than 80 KiB of header
    /// fields (`HTTPParserError.headerOverflow`), answered here with 431.
    static let maximumHeadBytes = 80 * 1024

    private let router: Router
    private let work: BackgroundWork
    private let logger: Logger
    private let client: ClientIdentity?
    private var head: HTTPRequestHead?
    private var body: ByteBuffer?
    private var refused = false
    /// The request being answered off the event loop; cancelled when the client goes away.
    private var running: JobCancel?
    private var idleTimer: Scheduled<Void>?
    /// A connection waiting longer than this for a whole request — head AND body — is
    /// closed: slow clients (slowloris, or a complete head with a body that dribbles in)
    /// cannot hold connections, and idle keep-alive connections go. The clock starts when the
    /// connection opens or the last answer was written, and stops only when the request is
    /// complete and handed to the router (a login stream may then run for minutes).
    private let idleTimeout: TimeAmount
    /// When the wait for the first request began: the hot path (HotPathHandler) may have waited
    /// for this request's head before it handed the connection over, and that time counts.
    var waitingSince = NIODeadline.now()

    init(
        router: Router, work: BackgroundWork, logger: Logger, client: ClientIdentity?,
        idleTimeout: TimeAmount = .seconds(15)
    ) {
        self.idleTimeout = idleTimeout
        self.router = router
        self.work = work
        self.logger = logger
        self.client = client
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { startIdleTimer(context: context, from: waitingSince) }
    }

    func channelActive(context: ChannelHandlerContext) {
        startIdleTimer(context: context, from: waitingSince)
        context.fireChannelActive()
    }

    /// (Re)starts the wait for the next whole request.
    private func startIdleTimer(context: ChannelHandlerContext, from start: NIODeadline = .now()) {
        idleTimer?.cancel()
        let channel = context.channel
        let logger = self.logger
        idleTimer = context.eventLoop.scheduleTask(deadline: start + idleTimeout) {
            logger.debug("closing a connection that sent no complete request in time")
            channel.close(promise: nil)
        }
    }

    private func stopIdleTimer() {
        idleTimer?.cancel()
        idleTimer = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            self.body = nil
            self.refused = false
        case .body(var chunk):
            guard !refused else { return }
            if (body?.readableBytes ?? 0) + chunk.readableBytes > Self.maximumBodyBytes {
                refused = true
                let error = LatchkeyError(
                    .badRequest, "The request body is larger than \(Self.maximumBodyBytes) bytes.")
                write(context: context, .error(error), keepAlive: false, status: 413)
                return
            }
            if body == nil { body = chunk } else { body!.writeBuffer(&chunk) }
        case .end:
            guard let head, !refused else { return }
            stopIdleTimer()
            self.head = nil
            let bytes = body.map { Array($0.readableBytesView) } ?? []
            let request = APIRequest(method: head.method.rawValue, target: head.uri, body: bytes, client: client)
            let keepAlive = head.isKeepAlive
            let router = self.router
            let loop = context.eventLoop
            let bound = NIOLoopBound((self, context), eventLoop: loop)
            let job: BackgroundWork.Job = {
                let response = await router.handle(request)
                if case .stream(let events) = response {
                    await Self.stream(events, keepAlive: keepAlive, bound: bound, loop: loop)
                } else {
                    loop.execute {
                        let (handler, context) = bound.value
                        handler.running = nil
                        handler.write(context: context, response, keepAlive: keepAlive)
                    }
                }
            }
            // The server stops taking requests at shutdown: say so, and close.
            guard let running = work.startCancellable(job) else {
                return write(context: context, .error(Broker.stopping), keepAlive: false)
            }
            self.running = running
        }
    }

    /// Sends the login stream's events as chunked JSON lines until its final event. At the
    /// daemon's shutdown the stream stops (the sign-in is then cancelled) and its last line
    /// says why, so the client is not left with a stream cut short.
    private static func stream(
        _ events: AsyncStream<LoginEvent>, keepAlive: Bool, bound: NIOLoopBound<(HTTPHandler, ChannelHandlerContext)>,
        loop: any EventLoop
    ) async {
        loop.execute {
            let (handler, context) = bound.value
            // The client may have gone while the broker answered: nothing to stream to.
            guard context.channel.isActive else { return }
            var headers = HTTPHeaders()
            headers.add(name: "Content-Type", value: "application/x-ndjson")
            headers.add(name: "Transfer-Encoding", value: "chunked")
            headers.add(name: "Cache-Control", value: "no-store")
            let head = HTTPResponseHead(version: .http1_1, status: .ok, headers: headers)
            context.writeAndFlush(handler.wrapOutboundOut(.head(head)), promise: nil)
        }
        @Sendable func send(_ event: LoginEvent) {
            let line = event.json.encoded + "\n"
            loop.execute {
                let (handler, context) = bound.value
                guard context.channel.isActive else { return }
                var buffer = context.channel.allocator.buffer(capacity: line.utf8.count)
                buffer.writeString(line)
                context.writeAndFlush(handler.wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
            }
        }
        let ended = await cancelWhenGracefulShutdown { () async -> Bool in
            for await event in events {
                send(event)
                if event.isFinal { return true }
            }
            return false
        }
        if !ended, !Task.isCancelled {
            // Cut short by the daemon's shutdown (a client that went away cancelled this task).
            send(
                .error(
                    Task.isShuttingDownGracefully
                        ? Broker.stopping : LatchkeyError(.internalError, "The sign-in ended without a result.")))
        }
        loop.execute {
            let (handler, context) = bound.value
            handler.running = nil
            guard context.channel.isActive else { return }
            let done = context.writeAndFlush(handler.wrapOutboundOut(.end(nil)))
            if !keepAlive { done.whenComplete { [channel = context.channel] _ in channel.close(promise: nil) } }
            handler.startIdleTimer(context: context)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        stopIdleTimer()
        // The client went away: its request is cancelled (Ctrl-C ends the sign-in it watched).
        running?.cancel()
        running = nil
        context.fireChannelInactive()
    }

    private func write(context: ChannelHandlerContext, _ response: APIResponse, keepAlive: Bool, status: Int? = nil) {
        switch response {
        case .json(let code, let json, let extra):
            var buffer = context.channel.allocator.buffer(capacity: 256)
            buffer.writeString(json.encoded)
            buffer.writeStaticString("\n")
            var headers = HTTPHeaders()
            headers.add(name: "Content-Type", value: "application/json")
            headers.add(name: "Content-Length", value: String(buffer.readableBytes))
            headers.add(name: "Cache-Control", value: "no-store")
            for (name, value) in extra { headers.add(name: name, value: value) }
            if !keepAlive { headers.add(name: "Connection", value: "close") }
            let head = HTTPResponseHead(
                version: .http1_1, status: HTTPResponseStatus(statusCode: status ?? code), headers: headers)
            context.write(wrapOutboundOut(.head(head)), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
            let done = context.writeAndFlush(wrapOutboundOut(.end(nil)))
            if !keepAlive { done.whenComplete { [channel = context.channel] _ in channel.close(promise: nil) } }
            // Keep-alive: the wait for the next head; close: a client that never reads the answer.
            startIdleTimer(context: context)
        case .text(let text):
            var buffer = context.channel.allocator.buffer(capacity: text.utf8.count)
            buffer.writeString(text)
            var headers = HTTPHeaders()
            headers.add(name: "Content-Type", value: "text/plain; version=0.0.4; charset=utf-8")
            headers.add(name: "Content-Length", value: String(buffer.readableBytes))
            if !keepAlive { headers.add(name: "Connection", value: "close") }
            context.write(
                wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))), promise: nil
            )
            context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
            let done = context.writeAndFlush(wrapOutboundOut(.end(nil)))
            if !keepAlive { done.whenComplete { [channel = context.channel] _ in channel.close(promise: nil) } }
            // Keep-alive: the wait for the next head; close: a client that never reads the answer.
            startIdleTimer(context: context)
        case .stream:
            // Streams are written by `stream(_:keepAlive:bound:loop:)`, never here.
            write(
                context: context, .error(LatchkeyError(.internalError, "A login stream cannot be answered here.")),
                keepAlive: false)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        // Malformed HTTP: answer 400 (431 for an oversize head) and close; never echo the input.
        let tooLarge = (error as? HTTPParserError) == .headerOverflow
        if error is HTTPParserError || tooLarge {
            let json = LatchkeyError(
                .badRequest,
                tooLarge
                    ? "The request line and headers are larger than \(Self.maximumHeadBytes) bytes."
                    : "The request is not valid HTTP/1.1."
            ).json
            var buffer = context.channel.allocator.buffer(capacity: 128)
            buffer.writeString(json.encoded + "\n")
            var headers = HTTPHeaders()
            headers.add(name: "Content-Type", value: "application/json")
            headers.add(name: "Content-Length", value: String(buffer.readableBytes))
            headers.add(name: "Connection", value: "close")
            let status: HTTPResponseStatus = tooLarge ? .requestHeaderFieldsTooLarge : .badRequest
            context.write(
                wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))),
                promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { [channel = context.channel] _ in
                channel.close(promise: nil)
            }
            return
        }
        logger.debug("connection error", metadata: ["error": "\(error)"])
        context.close(promise: nil)
    }
}
