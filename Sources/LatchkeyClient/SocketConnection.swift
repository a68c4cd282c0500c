import LatchkeyCore

#if canImport(Glibc)
    import Glibc
#endif

/// Why the daemon could not be asked.
public struct ClientError: Error, Sendable, CustomStringConvertible {
    /// `untrusted`: the socket's folders or the process on it are not the user's own
    /// (SocketTrust); the command exits 77 and never falls back to starting a daemon.
    /// `timedOut`: the daemon took the request but sent nothing for `receiveTimeout` seconds
    /// (a hung daemon); the command exits 75.
    public enum Kind: Sendable { case unreachable, protocolError, untrusted, timedOut }
    public var kind: Kind
    public var message: String
    public var description: String { message }
}

/// A blocking HTTP/1.1 connection over the daemon's Unix socket, on plain syscalls: the
/// thin client must start in a few milliseconds, so no Foundation and no libcurl.
public final class SocketConnection {
    public let fd: Int32
    private var buffer: [UInt8] = []
    private var start = 0

    /// Seconds a read waits for the daemon (SO_RCVTIMEO): a little over the provider timeout
    /// (30 s by default), which bounds every wait of the daemon on a provider. `LATCHKEY_TIMEOUT`
    /// (whole seconds, 1 to 3600) sets it, for a larger `provider_timeout`.
    public static let receiveTimeout: Int = {
        guard let raw = getenv("LATCHKEY_TIMEOUT"), let seconds = Int(String(cString: raw)),
            (1...3600).contains(seconds)
        else { return 35 }
        return seconds
    }()

    /// What a read that timed out throws.
    public static var timedOut: ClientError {
        ClientError(kind: .timedOut, message: "it took the request but did not answer within \(receiveTimeout) s")
    }

    /// Connects to the daemon at `path` after checking the folders on the way, and checks that
    /// the process answering runs as this user; nothing is sent before both checks pass.
    public init(path: String) throws(ClientError) {
        let uid = getuid()
        if let problem = SocketTrust.problem(path: path, uid: uid) {
            throw ClientError(kind: .untrusted, message: problem)
        }
        // `self.fd` is set only once connected: a throw before that leaves `self` uninitialized,
        // so `deinit` does not run and the descriptor is closed exactly once, here. (Closing it
        // twice would close whatever file another thread opened under the same number.)
        let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else {
            throw ClientError(kind: .unreachable, message: "cannot create a socket: \(Self.errorText())")
        }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            close(descriptor)
            throw ClientError(kind: .unreachable, message: "the socket path is too long: \(path)")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard result == 0 else {
            let text = Self.errorText()
            close(descriptor)
            throw ClientError(kind: .unreachable, message: "no Latchkey daemon answers on \(path) (\(text))")
        }
        if let problem = SocketTrust.peerProblem(fd: descriptor, path: path, uid: uid) {
            close(descriptor)
            throw ClientError(kind: .untrusted, message: problem)
        }
        // A hung daemon must not hang every tool that asks it: reads give up (EAGAIN).
        var limit = timeval(tv_sec: Self.receiveTimeout, tv_usec: 0)
        _ = setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        fd = descriptor
    }

    deinit { close(fd) }

    /// The process at the other end, from the kernel (SO_PEERCRED): who really listens there.
    public var peer: (pid: Int32, uid: UInt32)? { SocketTrust.peer(of: fd) }

    static func errorText() -> String { String(cString: strerror(errno)) }

    public func send(_ text: String, body: [UInt8]) throws(ClientError) {
        var bytes = Array(text.utf8)
        bytes.append(contentsOf: body)
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n < 0 {
                if errno == EINTR { continue }
                throw ClientError(kind: .protocolError, message: "cannot write to the daemon: \(Self.errorText())")
            }
            offset += n
        }
    }

    /// Waits up to `timeout` milliseconds for bytes; false on timeout.
    func waitReadable(timeout: Int32) -> Bool {
        if start < buffer.count { return true }
        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        let n = poll(&pfd, 1, timeout)
        return n > 0
    }

    private func fill() throws(ClientError) -> Bool {
        if start > 0 && start == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            start = 0
        }
        var chunk = [UInt8](repeating: 0, count: 8192)
        while true {
            let n = recv(fd, &chunk, chunk.count, 0)
            if n < 0 {
                if errno == EINTR { continue }
                if errno == EAGAIN || errno == EWOULDBLOCK { throw Self.timedOut }
                throw ClientError(kind: .protocolError, message: "cannot read from the daemon: \(Self.errorText())")
            }
            if n == 0 { return false }
            buffer.append(contentsOf: chunk[0..<n])
            return true
        }
    }

    /// One line without its CRLF; nil at end of stream.
    func readLine() throws(ClientError) -> String? {
        while true {
            if let newline = buffer[start...].firstIndex(of: UInt8(ascii: "\n")) {
                var end = newline
                if end > start && buffer[end - 1] == UInt8(ascii: "\r") { end -= 1 }
                let line = String(decoding: buffer[start..<end], as: UTF8.self)
                start = newline + 1
                return line
            }
            if buffer.count - start > 64 * 1024 {
                throw ClientError(kind: .protocolError, message: "the daemon sent an overlong line")
            }
            guard try fill() else { return nil }
        }
    }

    func readExactly(_ count: Int) throws(ClientError) -> [UInt8] {
        while buffer.count - start < count {
            guard try fill() else {
                throw ClientError(kind: .protocolError, message: "the daemon closed the connection early")
            }
        }
        let bytes = Array(buffer[start..<start + count])
        start += count
        return bytes
    }
}
