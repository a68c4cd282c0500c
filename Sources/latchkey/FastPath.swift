import LatchkeyClient
import LatchkeyCore

#if canImport(Glibc)
    import Glibc
#endif

/// `latchkey token NAME` and `latchkey header NAME` exactly as sync tools run them: one
/// request on plain system calls (a receive timeout, exit 75 when a hung daemon lets it expire), no argument parser, no JSON tree, few String operations (each
/// process pays for every page of code it touches: docs/performance.md). Other arguments, or no
/// daemon to ask, fall through to the full command line (which starts one). An answer the
/// daemon gave is never asked for twice: an error is reported as the full command line
/// reports it, and a value with an escape in it is decoded as JSON.
enum FastPath {
    static func answerIfPlain() {
        guard CommandLine.argc == 3, let command = CommandLine.unsafeArgv[1], let name = CommandLine.unsafeArgv[2]
        else { return }
        let field: StaticString
        let key: String
        if strcmp(command, "token") == 0 {
            (field, key) = ("\"access_token\":\"", "access_token")
        } else if strcmp(command, "header") == 0 {
            (field, key) = ("\"header\":\"", "header")
        } else {
            return
        }
        let account = String(cString: name)
        guard Configuration.isValidAccountName(account) else { return }
        let paths = Paths(environment: { getenv($0).map { String(cString: $0) } }, uid: getuid())
        let request =
            "GET /v1/accounts/\(account)/\(String(cString: command)) HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
        guard let answer = exchange(paths.socket, request), let (status, body) = split(answer) else { return }
        if status == 200, let value = extract(body, field) { printLine(value) }
        // Rare: an error, or a value with an escape in it.
        let json = try? JSONValue.parse(Array(body))
        if !(200..<300).contains(status) {
            fail(
                json.flatMap(LatchkeyError.init(json:))
                    ?? LatchkeyError(.internalError, "The daemon answered HTTP \(status)."))
        }
        guard let value = json?[key]?.stringValue else {
            fail(LatchkeyError(.internalError, "The daemon's answer has no \(key)."))
        }
        printLine(Array(value.utf8) + [10])
    }

    /// Writes the line to standard output and exits; a failed write exits 74 (EX_IOERR).
    static func printLine(_ line: [UInt8]) -> Never {
        var out = 0
        while out < line.count {
            let n = line.withUnsafeBytes { write(1, $0.baseAddress! + out, $0.count - out) }
            if n < 0 && (errno == EINTR || errno == EAGAIN) { continue }
            if n <= 0 { exit(74) }
            out += n
        }
        exit(0)
    }

    /// The whole answer to `request` on the socket at `path` (the daemon closes after it).
    static func exchange(_ path: String, _ request: String) -> [UInt8]? {
        let connection: SocketConnection
        do {
            connection = try SocketConnection(path: path)
        } catch {
            if error.kind == .untrusted { refuseSocket(error) }
            return nil
        }
        guard (try? connection.send(request, body: [])) != nil else { return nil }
        // The connection closes its descriptor when released: it must live until the last recv.
        return withExtendedLifetime(connection) { () -> [UInt8]? in
            // Not zero-filled: only the pages the answer lands in are ever touched.
            let capacity = 256 * 1024
            let answer = [UInt8](unsafeUninitializedCapacity: capacity) { buffer, count in
                var received = 0
                while received < capacity {
                    let n = recv(connection.fd, buffer.baseAddress! + received, capacity - received, 0)
                    if n < 0 && errno == EINTR { continue }
                    // SO_RCVTIMEO (SocketConnection) expired: the daemon is hung; asking again
                    // on the full path would only wait as long once more.
                    if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) {
                        daemonUnanswered(SocketConnection.timedOut)
                    }
                    if n <= 0 { break }
                    received += n
                }
                count = received
            }
            return answer.count < capacity ? answer : nil  // too large for this path
        }
    }

    /// The status code and the body of a whole HTTP/1.1 answer.
    static func split(_ answer: [UInt8]) -> (status: Int, body: ArraySlice<UInt8>)? {
        let prefix: StaticString = "HTTP/1.1 "
        let p = prefix.utf8CodeUnitCount
        guard answer.count > p + 4, memcmp(answer, prefix.utf8Start, p) == 0, answer[p + 3] == UInt8(ascii: " ") else {
            return nil
        }
        var status = 0
        for b in answer[p..<(p + 3)] {
            guard b >= 0x30 && b <= 0x39 else { return nil }
            status = status * 10 + Int(b - 0x30)
        }
        var i = p + 4
        while i + 3 < answer.count {
            if answer[i] == 13 && answer[i + 1] == 10 && answer[i + 2] == 13 && answer[i + 3] == 10 {
                return (status, answer[(i + 4)...])
            }
            i += 1
        }
        return nil
    }

    /// The JSON string after `field` in the body, with a newline, if it has no escape in it.
    static func extract(_ body: ArraySlice<UInt8>, _ field: StaticString) -> [UInt8]? {
        let n = field.utf8CodeUnitCount
        return body.withUnsafeBufferPointer { bytes -> [UInt8]? in
            guard bytes.first == UInt8(ascii: "{") else { return nil }
            var i = 0
            while i + n <= bytes.count {
                if memcmp(bytes.baseAddress! + i, field.utf8Start, n) == 0 { break }
                i += 1
            }
            guard i + n <= bytes.count else { return nil }
            let start = i + n
            var end = start
            while end < bytes.count, bytes[end] != UInt8(ascii: "\""), bytes[end] != UInt8(ascii: "\\"),
                bytes[end] >= 0x20
            { end += 1 }
            guard end < bytes.count, end > start, bytes[end] == UInt8(ascii: "\"") else { return nil }
            return Array(bytes[start..<end]) + [10]
        }
    }
}
