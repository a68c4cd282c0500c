#if canImport(Glibc)
import Glibc
#endif
import LatchkeyClient
import LatchkeyCore

/// `latchkey token NAME` and `latchkey header NAME` exactly as sync tools run them: one
/// request on plain system calls, no argument parser, no JSON tree, few String operations (each
/// process pays for every page of code it touches: docs/performance.md). Anything else — other
/// arguments, no daemon, any answer but 200, a value with an escape in it — falls through to
/// the full command line, which says what went wrong.
enum FastPath {
    static func answerIfPlain() {
        guard CommandLine.argc == 3, let command = CommandLine.unsafeArgv[1], let name = CommandLine.unsafeArgv[2] else { return }
        let field: StaticString
        if strcmp(command, "token") == 0 {
            field = "\"access_token\":\""
        } else if strcmp(command, "header") == 0 {
            field = "\"header\":\""
        } else {
            return
        }
        let account = String(cString: name)
        guard Configuration.isValidAccountName(account) else { return }
        let paths = Paths(environment: { getenv($0).map { String(cString: $0) } }, uid: getuid())
        let request = "GET /v1/accounts/\(account)/\(String(cString: command)) HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
        guard let answer = exchange(paths.socket, request), let value = extract(answer, field) else { return }
        var out = 0
        while out < value.count {
            let n = value.withUnsafeBytes { write(1, $0.baseAddress! + out, $0.count - out) }
            if n <= 0 { return }  // nothing printed yet is retried by the full path; a partial line is not
            out += n
        }
        exit(0)
    }

    /// The whole answer to `request` on the socket at `path` (the daemon closes after it).
    static func exchange(_ path: String, _ request: String) -> [UInt8]? {
        guard let connection = try? SocketConnection(path: path), (try? connection.send(request, body: [])) != nil else { return nil }
        // The connection closes its descriptor when released: it must live until the last recv.
        return withExtendedLifetime(connection) { () -> [UInt8]? in
            // Not zero-filled: only the pages the answer lands in are ever touched.
            let capacity = 256 * 1024
            let answer = [UInt8](unsafeUninitializedCapacity: capacity) { buffer, count in
                var received = 0
                while received < capacity {
                    let n = recv(connection.fd, buffer.baseAddress! + received, capacity - received, 0)
                    if n < 0 && errno == EINTR { continue }
                    if n <= 0 { break }
                    received += n
                }
                count = received
            }
            return answer.count < capacity ? answer : nil  // too large for this path
        }
    }

    /// The JSON string after `field` in a 200 answer's body, with a newline, if it has no escape.
    static func extract(_ answer: [UInt8], _ field: StaticString) -> [UInt8]? {
        let status: StaticString = "HTTP/1.1 200 "
        guard answer.count > status.utf8CodeUnitCount, memcmp(answer, status.utf8Start, status.utf8CodeUnitCount) == 0 else { return nil }
        let n = field.utf8CodeUnitCount
        return answer.withUnsafeBufferPointer { bytes -> [UInt8]? in
            var i = 0
            var bodyStart: Int?
            while i + 3 < bytes.count {
                if bytes[i] == 13 && bytes[i + 1] == 10 && bytes[i + 2] == 13 && bytes[i + 3] == 10 { bodyStart = i + 4; break }
                i += 1
            }
            guard var i = bodyStart, i < bytes.count, bytes[i] == UInt8(ascii: "{") else { return nil }
            while i + n <= bytes.count {
                if memcmp(bytes.baseAddress! + i, field.utf8Start, n) == 0 { break }
                i += 1
            }
            guard i + n <= bytes.count else { return nil }
            let start = i + n
            var end = start
            while end < bytes.count, bytes[end] != UInt8(ascii: "\""), bytes[end] != UInt8(ascii: "\\"), bytes[end] >= 0x20 { end += 1 }
            guard end < bytes.count, end > start, bytes[end] == UInt8(ascii: "\"") else { return nil }
            return Array(bytes[start..<end]) + [10]
        }
    }
}
