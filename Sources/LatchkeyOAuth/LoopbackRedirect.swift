#if canImport(Glibc)
import Glibc
#endif
import Dispatch
import LatchkeyCore

/// The loopback redirect listener of a native app (RFC 8252 §7.3): a TCP socket on 127.0.0.1
/// with a port the kernel picks, that waits for the browser's redirect carrying the code. Only
/// an answer with this sign-in's `state` is taken; anything else gets an error page and the
/// wait goes on. Blocking calls run on a Dispatch thread, never the cooperative pool.
public final class LoopbackRedirect: @unchecked Sendable {
    public let port: Int
    private let fd: Int32
    private let lock = Lock()
    private var cancelled = false

    public init() throws(OAuthError) {
        let socketFD = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard socketFD >= 0 else { throw Self.failure("create a socket") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        address.sin_port = 0
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socketFD, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(socketFD, 8) == 0 else {
            let error = Self.failure("listen on 127.0.0.1")
            close(socketFD)
            throw error
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(socketFD, $0, &length) }
        }
        fd = socketFD
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    deinit { close(fd) }

    /// `http://127.0.0.1:PORT/`, the redirect_uri to register (RFC 8252 §7.3 allows any port).
    public var redirectURI: String { "http://127.0.0.1:\(port)/" }

    /// The code of the redirect whose `state` matches, or the provider's error, or a timeout.
    public func waitForCode(state: String, timeout: Double) async throws(OAuthError) -> Secret<String> {
        let result: Result<Secret<String>, OAuthError> = await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                DispatchQueue.global().async {
                    continuation.resume(returning: self.serve(state: state, timeout: timeout))
                }
            }
        } onCancel: {
            lock.withLock { cancelled = true }
        }
        return try result.get()
    }

    private func serve(state: String, timeout: Double) -> Result<Secret<String>, OAuthError> {
        let deadline = Self.now() + timeout
        while Self.now() < deadline {
            if lock.withLock({ cancelled }) {
                return .failure(OAuthError(kind: .provider(code: "cancelled"), message: "the sign-in was cancelled"))
            }
            var pending = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&pending, 1, 250) > 0 else { continue }
            let client = accept(fd, nil, nil)
            guard client >= 0 else { continue }
            _ = fcntl(client, F_SETFD, FD_CLOEXEC)
            defer { close(client) }
            if let answer = handle(client, state: state) { return answer }
        }
        return .failure(OAuthError(
            kind: .provider(code: "expired_token"), message: "the browser did not come back to \(redirectURI) in time"))
    }

    /// One request: nil to keep waiting (another path, a wrong state), else the outcome.
    private func handle(_ client: Int32, state: String) -> Result<Secret<String>, OAuthError>? {
        var wait = timeval(tv_sec: 5, tv_usec: 0)
        _ = setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &wait, socklen_t(MemoryLayout<timeval>.size))
        var request: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while request.count < 16384 {
            let n = read(client, &chunk, chunk.count)
            if n <= 0 { break }
            request += chunk[0..<n]
            if request.count >= 4, request.suffix(4) == [13, 10, 13, 10] { break }
        }
        let line = String(decoding: request.prefix { $0 != 13 && $0 != 10 }, as: UTF8.self)
        let parts = line.split(separator: " ")
        guard parts.count >= 2, parts[0] == "GET" else {
            respond(client, 400, "Latchkey expected the browser's redirect here.")
            return nil
        }
        let target = parts[1]
        let path = target.prefix { $0 != "?" }
        guard path == "/" else {
            respond(client, 404, "Nothing here.")
            return nil
        }
        let query = Dictionary(FormEncoding.pairs(target.dropFirst(path.count + 1)), uniquingKeysWith: { first, _ in first })
        guard query["state"] == state else {
            respond(client, 400, "This answer does not belong to the sign-in Latchkey started (its state does not match), so it was ignored.")
            return nil
        }
        if let error = query["error"] {
            let description = query["error_description"].map { ": " + $0 } ?? ""
            respond(client, 200, "The sign-in did not succeed (\(error)). You can close this window; the terminal says what to do.")
            return .failure(OAuthError(kind: .provider(code: error), message: "the provider answered \(error)\(description)"))
        }
        guard let code = query["code"], !code.isEmpty else {
            respond(client, 400, "The redirect carries no code.")
            return nil
        }
        respond(client, 200, "Signed in. You can close this window and go back to the terminal.")
        return .success(Secret(code))
    }

    private func respond(_ client: Int32, _ status: Int, _ text: String) {
        let reason = status == 200 ? "OK" : status == 404 ? "Not Found" : "Bad Request"
        let escaped = text.replacingAll("&", "&amp;").replacingAll("<", "&lt;")
        let body = "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Latchkey</title></head><body><p>\(escaped)</p></body></html>"
        let head = "HTTP/1.1 \(status) \(reason)\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: \(body.utf8.count)\r\n"
            + "Cache-Control: no-store\r\nConnection: close\r\n\r\n"
        var bytes = Array((head + body).utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeMutableBytes { send(client, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return }
            offset += n
        }
    }

    private static func failure(_ what: String) -> OAuthError {
        OAuthError(kind: .provider(code: "loopback"), message: "cannot \(what) for the browser's redirect: \(String(cString: strerror(errno)))")
    }

    private static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}

/// A pthread mutex (this module is Foundation-free).
final class Lock: @unchecked Sendable {
    private var mutex = pthread_mutex_t()
    init() { pthread_mutex_init(&mutex, nil) }
    deinit { pthread_mutex_destroy(&mutex) }
    func withLock<T>(_ body: () -> T) -> T {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        return body()
    }
}

extension String {
    func replacingAll(_ target: String, _ replacement: String) -> String {
        split(separator: target, omittingEmptySubsequences: false).joined(separator: replacement)
    }
}
