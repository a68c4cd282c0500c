import Dispatch
import Glibc
import LatchkeyClient
import LatchkeyCore
import LatchkeyDiscovery
import LatchkeyServer
import NIOCore
import Testing

/// The socket under hostile or careless clients: an oversize head, slow clients, too many
/// connections, and mutated requests. The daemon answers, closes, and keeps serving others.
@Suite struct SocketHardeningTests {
    @Test func anOversizeHeadGets431ButABodyUpToItsCapIsRead() async throws {
        try await SocketAPITests.withServer { client, path in
            let huge =
                "GET /v1/health HTTP/1.1\r\nHost: x\r\nX-Pad: " + String(repeating: "a", count: 100_000) + "\r\n\r\n"
            let answer = RawConnection(path).exchange(Array(huge.utf8))
            #expect(answer.hasPrefix("HTTP/1.1 431"), "\(answer.prefix(60))")
            // 60 KB of body is under the 64 KB body cap: read, and refused only as bad JSON.
            let body = "{\"www_authenticate\":\"" + String(repeating: "b", count: 60_000) + "\"}"
            let post =
                "POST /v1/accounts/work/challenge HTTP/1.1\r\nHost: x\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n"
                + body
            let reply = RawConnection(path).exchange(Array(post.utf8))
            #expect(reply.hasPrefix("HTTP/1.1 400") && reply.contains("no Bearer challenge"), "\(reply.prefix(200))")
            let health = try client.request("GET", "/v1/health")
            #expect(health.status == 200)
        }
    }

    @Test func slowClientsAreClosedAndDoNotStarveOthers() async throws {
        try await SocketAPITests.withServer(limits: .init(idleTimeout: .seconds(1))) { client, path in
            let slow = (0..<50).map { _ in RawConnection(path) }
            for connection in slow { connection.send(Array("GET /v1/health HTTP/1.1\r\nHo".utf8)) }
            // Others are served at once meanwhile.
            for _ in 0..<200 {
                let health = try client.request("GET", "/v1/health")
                #expect(health.status == 200)
            }
            usleep(1_800_000)
            // Every slow connection was closed by the daemon, without an answer.
            #expect(slow.allSatisfy { $0.readToEnd(timeout: 2).isEmpty && $0.closedByPeer })
        }
    }

    /// The limit is for the whole request: a complete head whose body dribbles in is closed
    /// too, whether it came through the cached path's reader or straight to NIO's decoder.
    @Test func aCompleteHeadWithASlowBodyIsClosedToo() async throws {
        try await SocketAPITests.withServer(limits: .init(idleTimeout: .seconds(1))) { client, path in
            let heads = [
                "POST /v1/accounts/work/login HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{",
                "GET /v1/accounts/work/token HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{",
            ]
            let slow = (0..<20).map { _ in RawConnection(path) }
            for (index, connection) in slow.enumerated() { connection.send(Array(heads[index % 2].utf8)) }
            for _ in 0..<4 {
                usleep(400_000)
                for connection in slow { connection.send([0x20]) }
                let health = try client.request("GET", "/v1/health")
                #expect(health.status == 200)
            }
            #expect(slow.allSatisfy { $0.readToEnd(timeout: 2).isEmpty && $0.closedByPeer })
        }
    }

    @Test func connectionsOverTheLimitAreClosedUntilOthersGo() async throws {
        try await SocketAPITests.withServer(limits: .init(idleTimeout: .seconds(1), maximumConnections: 20)) {
            client, path in
            let held = (0..<20).map { _ in RawConnection(path) }
            usleep(200_000)
            let extra = RawConnection(path)
            #expect(extra.readToEnd(timeout: 2).isEmpty && extra.closedByPeer)
            usleep(1_500_000)  // the idle ones are closed, and their slots freed
            #expect(held.allSatisfy { $0.readToEnd(timeout: 2).isEmpty })
            let health = try client.request("GET", "/v1/health")
            #expect(health.status == 200)
        }
    }

    /// A seeded mutator over recorded requests (the toolchain's libFuzzer is not used: see
    /// docs/security-testing.md). `LATCHKEY_FUZZ_ITERATIONS` sets the count (`make fuzz`).
    @Test func mutatedRequestsNeverCrashTheDaemon() async throws {
        let iterations = Int(getenv("LATCHKEY_FUZZ_ITERATIONS").map { String(cString: $0) } ?? "") ?? 1500
        let seed = UInt64(getenv("LATCHKEY_FUZZ_SEED").map { String(cString: $0) } ?? "") ?? 20_261_122
        try await SocketAPITests.withServer(limits: .init(idleTimeout: .seconds(1))) { client, path in
            var random = SplitMix(seed: seed)
            var answered = 0
            var closedQuietly = 0
            for _ in 0..<iterations {
                let input = Mutator.mutate(Mutator.corpus[Int(random.next() % UInt64(Mutator.corpus.count))], &random)
                let connection = RawConnection(path)
                connection.send(input)
                connection.shutdownWrite()
                let answer = connection.readToEnd(timeout: 3)
                if answer.isEmpty {
                    closedQuietly += 1
                } else {
                    answered += 1
                    #expect(
                        answer.hasPrefix("HTTP/1.1 "), "not HTTP: \(answer.prefix(40)) for input \(input.prefix(80))")
                }
            }
            print(
                "fuzz: \(iterations) inputs (seed \(seed)): \(answered) answered, \(closedQuietly) closed without an answer, 0 crashes"
            )
            let health = try client.request("GET", "/v1/health")
            #expect(health.status == 200)
        }
    }

    /// The parsers that read what clients and providers send, straight: random and mutated inputs.
    @Test func parsersNeverCrashOnMutatedInput() async {
        // Seconds of synchronous work: on a thread of its own, not the cooperative pool that the
        // in-process servers of the other tests need.
        let parsed = await withCheckedContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(returning: Self.mutateParsers()) }
        }
        #expect(parsed > 0)
    }

    /// How many mutated JSON inputs still parsed; every parser must return, whatever it is given.
    static func mutateParsers() -> Int {
        let iterations = Int(getenv("LATCHKEY_FUZZ_ITERATIONS").map { String(cString: $0) } ?? "") ?? 1500
        var random = SplitMix(seed: 7)
        let seeds: [[UInt8]] = [
            Array(#"{"access_token":"a","expires_in":"3600","scope":["x"],"n":[1.5e3,-0,true,null]}"#.utf8),
            Array(#"Bearer realm="a\"b", error="insufficient_claims", claims="eyJ9", Negotiate abc==, Basic"#.utf8),
            Array("[broker]\nstore = \"memory\"\n[accounts.a]\nscopes = [\"x\", \"y\"]\nmin_valid = \"5m\"\n".utf8),
            Array(
                "<Autodiscover><Response><Account><Action>settings</Action><Protocol><EwsUrl>x</EwsUrl></Protocol></Account></Response></Autodiscover>"
                    .utf8),
            Array("code=a%2Fb&state=%zz+x&&=".utf8),
        ]
        var parsed = 0
        for i in 0..<(iterations * 10) {
            let input = Mutator.mutate(seeds[i % seeds.count], &random)
            let text = String(decoding: input, as: UTF8.self)
            if (try? JSONValue.parse(input)) != nil { parsed += 1 }
            _ = WWWAuthenticate.parse([text])
            _ = try? Configuration.parse(text, file: "fuzz.toml")
            _ = FormEncoding.pairs(Substring(text))
            _ = Autodiscover.describePOX(input)
        }
        return parsed
    }
}

/// A plain blocking Unix-socket connection for raw bytes.
final class RawConnection: @unchecked Sendable {
    let fd: Int32
    private(set) var closedByPeer = false

    init(_ path: String) {
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            let bytes = Array(path.utf8)
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        _ = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
    }

    deinit { close(fd) }

    func send(_ bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes {
                Glibc.send(fd, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL))
            }
            if n <= 0 { return }
            offset += n
        }
    }

    func shutdownWrite() { shutdown(fd, Int32(SHUT_WR)) }

    /// Everything until the peer closes or `timeout` seconds pass without data.
    func readToEnd(timeout: Double) -> String {
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        var wait = timeval(tv_sec: Int(timeout), tv_usec: Int((timeout - Double(Int(timeout))) * 1e6))
        _ = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &wait, socklen_t(MemoryLayout<timeval>.size))
        while true {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n == 0 { closedByPeer = true }
            if n <= 0 { break }
            received += buffer[0..<n]
        }
        return String(decoding: received, as: UTF8.self)
    }

    func exchange(_ bytes: [UInt8]) -> String {
        send(bytes)
        return readToEnd(timeout: 30)
    }
}

struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

enum Mutator {
    static let corpus: [[UInt8]] = [
        "GET /v1/health HTTP/1.1\r\nHost: localhost\r\n\r\n",
        "GET /v1/accounts HTTP/1.1\r\nHost: localhost\r\nConnection: keep-alive\r\n\r\nGET /metrics HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET /v1/accounts/work/token?scope=a%20b&scope=c&min_valid=30 HTTP/1.1\r\nHost: localhost\r\n\r\n",
        "GET /v1/accounts/work/header?url=https%3A%2F%2Fmail.example%2FEWS HTTP/1.1\r\nHost: localhost\r\n\r\n",
        "POST /v1/accounts/work/challenge HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 76\r\n\r\n{\"www_authenticate\":\"Bearer error=\\\"insufficient_claims\\\", claims=\\\"e30=\\\"\"}",
        "POST /v1/logins/abc/answer HTTP/1.1\r\nHost: localhost\r\nContent-Length: 19\r\n\r\n{\"answers\":[\"x\",1]}",
        "POST /v1/accounts/work/login?method=device HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\n\r\n",
        "DELETE /v1/accounts/work/credentials HTTP/1.1\r\nHost: localhost\r\n\r\n",
        "POST /v1/accounts/work/challenge HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{\"a\":\r\n1\r\n1\r\n0\r\n\r\n",
    ].map { Array($0.utf8) }

    static let tokens: [[UInt8]] = [
        "\r\n", "\r\n\r\n", "%", "%00", "%zz", "?", "&", "=", "/", "..", "\u{0}", "\"", "{", "}", "[", "]", "\\u0000",
        "Content-Length: 99999999\r\n", "Transfer-Encoding: chunked\r\n", "Content-Length: -1\r\n", " HTTP/1.0",
        String(repeating: "A", count: 300), "é", "\u{FFFD}", "HTTP/1.1 200 OK\r\n",
    ].map { Array($0.utf8) }

    static func mutate(_ input: [UInt8], _ random: inout SplitMix) -> [UInt8] {
        var out = input
        let steps = 1 + Int(random.next() % 6)
        for _ in 0..<steps {
            let position = out.isEmpty ? 0 : Int(random.next() % UInt64(out.count))
            switch random.next() % 6 {
            case 0 where !out.isEmpty: out[position] ^= UInt8(truncatingIfNeeded: 1 << (random.next() % 8))
            case 1: out.insert(UInt8(truncatingIfNeeded: random.next()), at: position)
            case 2 where !out.isEmpty:
                let length = min(out.count - position, 1 + Int(random.next() % 16))
                out.removeSubrange(position..<(position + length))
            case 3: out.insert(contentsOf: tokens[Int(random.next() % UInt64(tokens.count))], at: position)
            case 4 where !out.isEmpty:
                let length = min(out.count - position, 1 + Int(random.next() % 32))
                out.insert(contentsOf: out[position..<(position + length)], at: position)
            default: out = Array(out.prefix(position))
            }
        }
        return out
    }
}
