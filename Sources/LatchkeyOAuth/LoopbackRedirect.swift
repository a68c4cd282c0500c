import Dispatch
import LatchkeyCore
import LatchkeyCrypto

#if canImport(Glibc)
    import Glibc
#endif

/// The loopback redirect listener of a native app (RFC 8252 §7.3): a TCP socket on 127.0.0.1
/// with a port the kernel picks. The browser is sent to its start page (`startURL`, the only
/// link that leaves the daemon), which redirects once to the provider's authorization URL, so
/// `state` and the PKCE challenge never appear in an argv other users can read. The browser
/// then comes back with the code; only an answer with this sign-in's `state` is taken.
///
/// Connections of other users are refused (the kernel tells the owner of a loopback peer,
/// `LoopbackPeer`); each connection is served on its own, with its own deadline, by one poll
/// loop on a thread that `waitForCode` waits for, so a slow connection holds nothing up and no
/// work outlives the wait. Cancelling the wait or its deadline ends everything at once.
public final class LoopbackRedirect: @unchecked Sendable {
    public let port: Int
    private let fd: Int32
    /// Cancellation writes to one end of this socket pair, which wakes the poll loop.
    private let wake: (read: Int32, write: Int32)
    private let nonce = Crypto.randomToken(bytes: 24)
    /// Told, for the log, of every connection refused because another user made it.
    private let onRefused: @Sendable (_ uid: UInt32?) -> Void
    private let address: sockaddr_in

    /// Connections served at once; more wait in the kernel's queue until one is done.
    static let maximumConnections = 16
    /// A connection gets this long to send its request.
    static let connectionDeadline = 10.0

    public init(onRefused: @escaping @Sendable (_ uid: UInt32?) -> Void = { _ in }) throws(OAuthError) {
        self.onRefused = onRefused
        let socketFD = socket(
            AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard socketFD >= 0 else { throw Self.failure("create a socket") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        address.sin_port = 0
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(socketFD, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(socketFD, $0, &length) }
        }
        var pair: [Int32] = [-1, -1]
        let flags = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue)
        guard bound == 0, named == 0, listen(socketFD, 64) == 0, socketpair(AF_UNIX, flags, 0, &pair) == 0 else {
            let error = Self.failure("listen on 127.0.0.1")
            close(socketFD)
            throw error
        }
        fd = socketFD
        wake = (pair[0], pair[1])
        self.address = address
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    deinit {
        close(fd)
        close(wake.read)
        close(wake.write)
    }

    /// `http://127.0.0.1:PORT/`, the redirect_uri to register (RFC 8252 §7.3 allows any port).
    public var redirectURI: String { "http://127.0.0.1:\(port)/" }

    /// The page to open in the browser: it redirects to the authorization URL, once.
    public var startURL: String { "http://127.0.0.1:\(port)/start/\(nonce)" }

    /// Serves the start page (redirecting to `authorizationURL`) and waits for the redirect back
    /// whose `state` matches: its code, or the provider's error, or a timeout, or cancellation.
    public func waitForCode(authorizationURL: String, state: String, timeout: Double) async throws(OAuthError)
        -> Secret<String>
    {
        // It goes into a Location header: no byte that could end the header or the line.
        guard !authorizationURL.utf8.contains(where: { $0 <= 0x20 || $0 == 0x7F }) else {
            throw OAuthError(
                kind: .provider(code: "loopback"),
                message: "the authorization URL holds spaces or control characters, so the browser cannot be sent there"
            )
        }
        let result: Result<Secret<String>, OAuthError> = await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                // A serial queue: no global (concurrent) queue, whose workers start libdispatch's
                // once-a-second monitor for good (issue 18).
                DispatchQueue(label: "latchkey.loopback-redirect").async {
                    var session = RedirectSession(listener: self, authorizationURL: authorizationURL, state: state)
                    continuation.resume(returning: session.run(timeout: timeout))
                }
            }
        } onCancel: {
            var byte: UInt8 = 1
            _ = write(wake.write, &byte, 1)
        }
        return try result.get()
    }

    // MARK: For RedirectSession

    var listeningFD: Int32 { fd }
    var wakeFD: Int32 { wake.read }
    var startPath: String { "/start/" + nonce }

    /// Whether the connection `client` (just accepted from `peer`) was made by this user.
    func isOwnUser(peer: sockaddr_in) -> Bool {
        let owner = LoopbackPeer.owner(peer: peer, local: address)
        guard owner == getuid() else {
            onRefused(owner)
            return false
        }
        return true
    }

    static func failure(_ what: String) -> OAuthError {
        OAuthError(
            kind: .provider(code: "loopback"),
            message: "cannot \(what) for the browser's redirect: \(String(cString: strerror(errno)))")
    }
}
