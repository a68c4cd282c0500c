#if canImport(Glibc)
import Glibc
#endif
import LatchkeyCore
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import ServiceLifecycle

/// The daemon's Unix socket: `$XDG_RUNTIME_DIR/latchkey/latchkey.sock`, folder 0700, socket
/// 0600 (umask 077 is set at start-up, so there is no window with wider modes).
public struct SocketServer: Service {
    let path: String
    let router: Router
    let logger: Logger
    let group: MultiThreadedEventLoopGroup

    public init(path: String, router: Router, logger: Logger, group: MultiThreadedEventLoopGroup) {
        self.path = path
        self.router = router
        self.logger = logger
        self.group = group
    }

    /// Makes the folder, refuses to start when a live daemon answers on the socket, removes a
    /// stale socket file. Call before `run`, so start-up errors reach the person at once.
    public static func prepare(path: String) throws(LatchkeyError) {
        let folder = String(path[..<(path.lastIndex(of: "/") ?? path.startIndex)])
        if !folder.isEmpty {
            var parent = ""
            for part in folder.split(separator: "/") {
                parent += "/" + part
                if mkdir(parent, 0o700) != 0 && errno != EEXIST {
                    throw LatchkeyError(.configuration, "Cannot create the folder \(parent): \(String(cString: strerror(errno))).", hint: "Check XDG_RUNTIME_DIR.")
                }
            }
            _ = chmod(folder, 0o700)
        }
        var info = stat()
        guard lstat(path, &info) == 0 else { return }
        if SocketProbe.isLive(path) {
            throw LatchkeyError(.configuration, "Another Latchkey daemon is already running on \(path).", hint: "Use it, or stop it first (systemctl --user stop latchkey).")
        }
        unlink(path)
    }

    public func run() async throws {
        let router = self.router
        let logger = self.logger
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .childChannelOption(.socketOption(.so_keepalive), value: 0)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: false)
                    try channel.pipeline.syncOperations.addHandler(HTTPHandler(router: router, logger: logger))
                }
            }
            .bind(unixDomainSocketPath: path, cleanupExistingSocketFile: false)
            .get()
        _ = chmod(path, 0o600)
        logger.info("listening", metadata: ["socket": "\(path)"])
        try await withGracefulShutdownHandler {
            try await channel.closeFuture.get()
        } onGracefulShutdown: {
            channel.close(promise: nil)
        }
        unlink(path)
        logger.info("socket closed", metadata: ["socket": "\(path)"])
    }
}

/// Whether something answers on a Unix socket path (a live daemon) or not (a stale file).
enum SocketProbe {
    static func isLive(_ path: String) -> Bool {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { return false }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        return result == 0
    }
}
