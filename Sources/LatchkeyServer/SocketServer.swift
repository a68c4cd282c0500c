import LatchkeyBroker
import LatchkeyClient
import LatchkeyCore
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The daemon's Unix socket: `$XDG_RUNTIME_DIR/latchkey/latchkey.sock`, folder 0700, socket
/// 0600 (umask 077 is set at start-up, so there is no window with wider modes).
///
/// The server owns its connections' work: every request that leaves the event loop is a job of
/// one `BackgroundWork` whose task group is a child of `run`, and `run` returns only after it
/// has drained. Graceful shutdown stops accepting and removes the socket file it bound (only
/// while the path still names it: SocketFile), answers new requests on open connections 503,
/// ends login streams, lets requests in flight finish within `Limits.drainTimeout`
/// (then cancels them), and closes every connection still open.
public struct SocketServer: Service {
    let path: String
    let router: Router
    let logger: Logger
    let group: MultiThreadedEventLoopGroup
    /// A listening socket handed over by systemd (LISTEN_FDS), used instead of binding `path`.
    let inheritedSocket: Int32?
    /// Called once the socket accepts connections (the daemon tells systemd it is ready).
    let onReady: @Sendable () -> Void
    /// Limits (see HTTPHandler): the wait for a complete request head, and open connections.
    let limits: Limits
    /// Cached answers served on the event loop (HotPathHandler); nil: every request takes the router.
    let hot: HotAnswers?

    public struct Limits: Sendable {
        public var idleTimeout: TimeAmount
        public var maximumConnections: Int
        /// At shutdown, how long requests in flight may take to finish (a wait on a refresh is
        /// bounded by the provider timeout; the daemon gives that and a little more).
        public var drainTimeout: TimeAmount

        public init(
            idleTimeout: TimeAmount = .seconds(15), maximumConnections: Int = 1024,
            drainTimeout: TimeAmount = .seconds(35)
        ) {
            self.idleTimeout = idleTimeout
            self.maximumConnections = maximumConnections
            self.drainTimeout = drainTimeout
        }
    }

    public init(
        path: String, router: Router, logger: Logger, group: MultiThreadedEventLoopGroup,
        inheritedSocket: Int32? = nil, limits: Limits = Limits(), hot: HotAnswers? = nil,
        onReady: @escaping @Sendable () -> Void = {}
    ) {
        self.limits = limits
        self.hot = hot
        self.path = path
        self.router = router
        self.logger = logger
        self.group = group
        self.inheritedSocket = inheritedSocket
        self.onReady = onReady
    }

    /// Makes the folder, takes the daemon's lock (waiting up to `wait` for a daemon that is
    /// stopping: DaemonLock), refuses to start when a live daemon answers on the socket, removes
    /// a stale socket file. Call before `run` and before the store is read, so start-up errors
    /// reach the person at once and the store is read after the previous daemon wrote it.
    public static func prepare(
        path: String, wait: Duration = .seconds(120), logger: Logger = Logger(label: "latchkey")
    ) async throws(LatchkeyError) -> DaemonLock {
        // In a shared /tmp another user could have made a folder on the path first, to catch the
        // passwords a sign-in sends over the socket: every folder on it is checked as the client
        // checks it (SocketTrust), and the socket's own folder is made private through a
        // descriptor that cannot follow a link.
        let folder = SocketTrust.parent(of: path)
        SocketTrust.makeFolders(folder)
        if let problem = SocketTrust.problem(path: path, uid: getuid()) {
            throw LatchkeyError(
                .configuration, problem + " Latchkey will not use it.",
                hint: "Remove it, or set XDG_RUNTIME_DIR to a private folder (systemd sets /run/user/UID).")
        }
        if path.contains("/") { try makePrivate(folder) }  // a bare name: the working folder is not ours to chmod
        let lock = try await DaemonLock.take(socket: path, wait: wait, logger: logger)
        var info = stat()
        guard lstat(path, &info) == 0 else { return lock }
        if SocketProbe.isLive(path) {
            lock.release()
            throw DaemonLock.alreadyRunning(path)
        }
        unlink(path)
        return lock
    }

    /// Connections waiting to be accepted: bursts of many clients (capped by net.core.somaxconn).
    static let backlog: Int32 = 4096

    /// A Unix stream socket bound to `path` (0600 under the umask, and made so) with close-on-exec.
    static func listeningSocket(_ path: String) throws -> Int32 {
        let fd = socket(
            AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard fd >= 0 else {
            throw LatchkeyError(.internalError, "Cannot create the socket: \(String(cString: strerror(errno))).")
        }
        guard var address = UnixAddress(path) else {
            close(fd)
            throw LatchkeyError(.configuration, "The socket path is too long: \(path).")
        }
        let bound = withUnsafePointer(to: &address.storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        // 0600 without following a link (the folder is private already; this holds even if not).
        guard bound == 0, fchmodat(AT_FDCWD, path, 0o600, AT_SYMLINK_NOFOLLOW) == 0, listen(fd, Self.backlog) == 0
        else {
            let text = String(cString: strerror(errno))
            close(fd)
            throw LatchkeyError(.configuration, "Cannot listen on \(path): \(text).")
        }
        return fd
    }

    /// chmod 0700 of the socket's folder on a descriptor opened with O_NOFOLLOW: a link put
    /// in its place is refused, never followed; a folder of another user is refused, not changed.
    static func makePrivate(_ folder: String) throws(LatchkeyError) {
        let fd = open(folder, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else {
            throw LatchkeyError(
                .configuration,
                "Cannot open the socket folder \(folder) (\(String(cString: strerror(errno)))); it must be a folder of yours, not a link.",
                hint: "Remove it, or set XDG_RUNTIME_DIR to a private folder (systemd sets /run/user/UID).")
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_uid == getuid(), fchmod(fd, 0o700) == 0 else {
            throw LatchkeyError(
                .configuration,
                "The socket folder \(folder) is not a private folder of this user, so Latchkey will not use it.",
                hint: "Remove it, or set XDG_RUNTIME_DIR to a private folder (systemd sets /run/user/UID).")
        }
    }

    public func run() async throws {
        let router = self.router
        let logger = self.logger
        let hot = self.hot
        let work = BackgroundWork()
        let connections = OpenConnections(maximum: limits.maximumConnections)
        let idleTimeout = limits.idleTimeout
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: Self.backlog)
            .childChannelOption(.socketOption(.so_keepalive), value: 0)
            .childChannelInitializer { channel in
                // At most `maximumConnections` at once: beyond, a new connection is closed at
                // once (each costs a descriptor; slow clients are timed out by HTTPHandler).
                guard connections.add(channel) else {
                    logger.warning(
                        "connection refused: too many open connections", metadata: ["limit": "\(connections.maximum)"])
                    return channel.close()
                }
                channel.closeFuture.whenComplete { _ in connections.remove(channel) }
                return PeerCredentials.read(channel).flatMapThrowing { client in
                    let sync = channel.pipeline.syncOperations
                    let handler = HTTPHandler(
                        router: router, work: work, logger: logger, client: client, idleTimeout: idleTimeout)
                    let http: [ChannelHandler] = [
                        HTTPResponseEncoder(),
                        ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .dropBytes)),
                        HTTPServerPipelineHandler(), handler,
                    ]
                    guard let hot else { return try sync.addHandlers(http) }
                    // The cached routes first; anything else hands the connection to NIO's pipeline.
                    let first = HotPathHandler(
                        hot: hot, client: client, ownUID: router.ownUID, logger: logger, idleTimeout: idleTimeout
                    ) { context, since in
                        // One limit for the whole request, however the two paths shared the wait.
                        handler.waitingSince = since
                        try context.pipeline.syncOperations.addHandlers(http, position: .after(context.handler))
                    }
                    try sync.addHandler(first)
                }
            }
        let channel: Channel
        // Bound here, not by NIO, so that it is close-on-exec: NIO opens it without.
        let listening = try inheritedSocket ?? Self.listeningSocket(path)
        // The socket file bound here (systemd's stays): its path is removed only while it names it.
        let ownFile = inheritedSocket == nil ? SocketFile(at: path) : nil
        channel = try await bootstrap.withBoundSocket(listening).get()
        // NIO listens again on a socket it is handed, with its default backlog of 128, before
        // the backlog option applies: a burst of clients would then be refused (EAGAIN).
        _ = listen(listening, Self.backlog)
        if inheritedSocket != nil {
            logger.info("listening on the socket systemd handed over", metadata: ["fd": "\(listening)"])
        } else {
            logger.info("listening", metadata: ["socket": "\(path)"])
        }
        onReady()
        let drainTimeout = limits.drainTimeout
        await withTaskGroup(of: Bool.self) { children in
            children.addTask {
                await work.run()
                return true
            }
            // Accepting until graceful shutdown (or cancellation) closes the listening socket.
            await withTaskCancellationHandler {
                await withGracefulShutdownHandler {
                    try? await channel.closeFuture.get()
                } onGracefulShutdown: {
                    channel.close(promise: nil)
                }
            } onCancel: {
                channel.close(promise: nil)
            }
            // Not listening any more: the path goes now, so that a client sees at once that
            // nobody answers (a daemon it starts waits for this one to end: DaemonLock).
            ownFile?.remove(path: path)
            work.close()
            children.addTask {
                try? await Task.sleep(for: .nanoseconds(drainTimeout.nanoseconds))
                return false
            }
            if await children.next() == false {
                logger.warning(
                    "requests still running at shutdown: cancelling them",
                    metadata: ["waited_s": "\(drainTimeout.nanoseconds / 1_000_000_000)"])
            }
            children.cancelAll()
        }
        await connections.closeAll()
        logger.info("socket closed", metadata: ["socket": "\(path)"])
    }
}
