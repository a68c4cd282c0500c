import CLinux
import LatchkeyCore

#if canImport(Glibc)
    import Glibc
#endif

/// One wait of a `LoopbackRedirect`: a poll loop over the listening socket, the wake pipe and
/// every open connection. Each connection has its own deadline and gets one answer; the loop
/// ends with the code, the provider's error, the deadline or cancellation, and closes every
/// connection it still holds before it returns.
struct RedirectSession {
    let listener: LoopbackRedirect
    let authorizationURL: String
    let state: String
    /// The start page has sent the browser to the provider (it does so once).
    private var started = false
    private var connections: [Connection] = []

    struct Connection {
        let fd: Int32
        let deadline: Double
        var request: [UInt8] = []
    }

    init(listener: LoopbackRedirect, authorizationURL: String, state: String) {
        self.listener = listener
        self.authorizationURL = authorizationURL
        self.state = state
    }

    mutating func run(timeout: Double) -> Result<Secret<String>, OAuthError> {
        let deadline = Self.now() + timeout
        defer { for connection in connections { close(connection.fd) } }
        while true {
            let now = Self.now()
            guard now < deadline else {
                return .failure(
                    OAuthError(
                        kind: .provider(code: "expired_token"),
                        message: "the browser did not come back to \(listener.redirectURI) in time"))
            }
            connections.removeAll { connection in
                guard connection.deadline <= now else { return false }
                close(connection.fd)
                return true
            }
            let next = connections.map(\.deadline).reduce(deadline, min)
            let waitMilliseconds = Int32(min(1000, max(1, ((next - now) * 1000).rounded(.up))))
            let accepting = connections.count < LoopbackRedirect.maximumConnections
            var fds = [
                pollfd(fd: listener.wakeFD, events: Int16(POLLIN), revents: 0),
                pollfd(fd: accepting ? listener.listeningFD : -1, events: Int16(POLLIN), revents: 0),
            ]
            fds += connections.map { pollfd(fd: $0.fd, events: Int16(POLLIN), revents: 0) }
            guard poll(&fds, nfds_t(fds.count), waitMilliseconds) > 0 else { continue }
            if fds[0].revents != 0 {
                return .failure(OAuthError(kind: .provider(code: "cancelled"), message: "the sign-in was cancelled"))
            }
            // Connections first (their indexes match `fds` until some are removed), then new ones.
            var finished: [Int] = []
            for (index, polled) in fds.dropFirst(2).enumerated() where polled.revents != 0 {
                switch read(index) {
                case .waiting: continue
                case .done: finished.append(index)
                case .outcome(let outcome):
                    return outcome
                }
            }
            for index in finished.reversed() {
                close(connections[index].fd)
                connections.remove(at: index)
            }
            if fds[1].revents != 0 { acceptAll(now: Self.now()) }
        }
    }

    private enum Progress {
        case waiting, done
        case outcome(Result<Secret<String>, OAuthError>)
    }

    /// Reads what the connection sent; answers once the request head is complete.
    private mutating func read(_ index: Int) -> Progress {
        var chunk = [UInt8](repeating: 0, count: 4096)
        let n = chunk.withUnsafeMutableBytes { recv(connections[index].fd, $0.baseAddress, $0.count, 0) }
        if n < 0 && (errno == EAGAIN || errno == EINTR) { return .waiting }
        guard n > 0 else { return .done }
        connections[index].request += chunk[0..<n]
        let request = connections[index].request
        let complete =
            request.count >= 4
            && (0...(request.count - 4)).contains { request[$0..<($0 + 4)].elementsEqual([13, 10, 13, 10]) }
        guard complete || request.count >= 16384 else { return .waiting }
        let (answer, outcome) = handle(request)
        answer.send(to: connections[index].fd)
        if let outcome { return .outcome(outcome) }
        return .done
    }

    /// Takes every waiting connection: another user's is refused at once.
    private mutating func acceptAll(now: Double) {
        while connections.count < LoopbackRedirect.maximumConnections {
            var peer = sockaddr_in()
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let client = withUnsafeMutablePointer(to: &peer) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    lk_accept_cloexec_nonblock(listener.listeningFD, $0, &length)
                }
            }
            guard client >= 0 else { return }
            guard listener.isOwnUser(peer: peer) else {
                Answer(status: 403, text: "This sign-in belongs to another user of this computer.").send(to: client)
                close(client)
                continue
            }
            connections.append(Connection(fd: client, deadline: now + LoopbackRedirect.connectionDeadline))
        }
    }

    /// The answer to one request, and the outcome when it ends the wait.
    private mutating func handle(_ request: [UInt8]) -> (Answer, Result<Secret<String>, OAuthError>?) {
        let line = String(decoding: request.prefix { $0 != 13 && $0 != 10 }, as: UTF8.self)
        let parts = line.split(separator: " ")
        guard parts.count >= 2, parts[0] == "GET" else {
            return (Answer(status: 400, text: "Latchkey expected the browser's redirect here."), nil)
        }
        let target = parts[1]
        let path = target.prefix { $0 != "?" }
        if path == listener.startPath {
            guard !started else {
                return (
                    Answer(
                        status: 410,
                        text:
                            "This sign-in link was already used. If the sign-in did not finish, run latchkey login again."
                    ), nil
                )
            }
            started = true
            return (Answer(status: 302, text: "Continue to the sign-in page.", location: authorizationURL), nil)
        }
        guard path == "/" else { return (Answer(status: 404, text: "Nothing here."), nil) }
        let query = Dictionary(
            FormEncoding.pairs(target.dropFirst(path.count + 1)), uniquingKeysWith: { first, _ in first })
        // The state left the daemon only through the start page's redirect.
        guard started, query["state"] == state else {
            return (
                Answer(
                    status: 400,
                    text:
                        "This answer does not belong to the sign-in Latchkey started (its state does not match), so it was ignored."
                ), nil
            )
        }
        if let error = query["error"] {
            let description = query["error_description"].map { ": " + $0 } ?? ""
            return (
                Answer(
                    status: 200,
                    text:
                        "The sign-in did not succeed (\(error)). You can close this window; the terminal says what to do."
                ),
                .failure(
                    OAuthError(kind: .provider(code: error), message: "the provider answered \(error)\(description)"))
            )
        }
        guard let code = query["code"], !code.isEmpty else {
            return (Answer(status: 400, text: "The redirect carries no code."), nil)
        }
        return (
            Answer(status: 200, text: "Signed in. You can close this window and go back to the terminal."),
            .success(Secret(code))
        )
    }

    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}

/// A small HTML page with `Connection: close`, sent without blocking (it fits the socket's
/// buffer; a peer that does not read it loses it).
struct Answer {
    var status: Int
    var text: String
    var location: String? = nil

    func send(to client: Int32) {
        let reason =
            [200: "OK", 302: "Found", 403: "Forbidden", 404: "Not Found", 410: "Gone"][status] ?? "Bad Request"
        let escaped = text.replacingEvery("&", with: "&amp;").replacingEvery("<", with: "&lt;")
        let body =
            "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Latchkey</title></head><body><p>\(escaped)</p></body></html>"
        let head =
            "HTTP/1.1 \(status) \(reason)\r\n" + (location.map { "Location: \($0)\r\n" } ?? "")
            + "Content-Type: text/html; charset=utf-8\r\nContent-Length: \(body.utf8.count)\r\n"
            + "Cache-Control: no-store\r\nReferrer-Policy: no-referrer\r\nConnection: close\r\n\r\n"
        var bytes = Array((head + body).utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeMutableBytes {
                Glibc.send(client, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL))
            }
            if n <= 0 { return }
            offset += n
        }
    }
}
