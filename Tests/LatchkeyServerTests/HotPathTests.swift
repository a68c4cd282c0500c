import Dispatch
import LatchkeyBroker
import LatchkeyClient
import LatchkeyCore
import LatchkeyHTTP
import LatchkeyOAuth
import LatchkeyStore
import Logging
import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing

@testable import LatchkeyServer

#if canImport(Glibc)
    import Glibc
#endif

/// The cached answers served on the event loop (HotPathHandler, HotAnswers): the strict head
/// reader, checked against SwiftNIO's decoder, and the answers, checked against the router's.
@Suite struct HotPathTests {
    static func head(_ text: String) -> HotPathHandler.Head {
        let buffer = ByteBuffer(string: text)
        guard let end = HotPathHandler.headEnd(buffer) else { return .other }
        return HotPathHandler.parse(buffer, headLength: end)
    }

    @Test func onlyPlainRequestsForTheCachedRoutesAreRead() {
        #expect(
            Self.head("GET /v1/accounts/work/header HTTP/1.1\r\nHost: localhost\r\n\r\n")
                == .hot(.header, account: "work", close: false))
        #expect(
            Self.head("GET /v1/accounts/a.b_c-9/token HTTP/1.1\r\n\r\n")
                == .hot(.token, account: "a.b_c-9", close: false))
        #expect(
            Self.head(
                "GET /v1/accounts/work/token HTTP/1.1\r\nHost: x\r\nConnection: Close\r\nUser-Agent: latchkey/1\r\n\r\n"
            )
                == .hot(.token, account: "work", close: true))
        #expect(
            Self.head("GET /v1/accounts/work/header HTTP/1.1\r\nconnection:keep-alive \r\n\r\n")
                == .hot(.header, account: "work", close: false))
        let refused = [
            "GET /v1/accounts/work/header?min_valid=0 HTTP/1.1\r\n\r\n",  // a query
            "GET /v1/accounts/wo%72k/header HTTP/1.1\r\n\r\n",  // percent-encoding
            "GET /v1/accounts/work/header HTTP/1.0\r\n\r\n",
            "get /v1/accounts/work/header HTTP/1.1\r\n\r\n",
            "HEAD /v1/accounts/work/header HTTP/1.1\r\n\r\n",
            "GET /v1/accounts/work/header  HTTP/1.1\r\n\r\n",
            "GET /v1/accounts//header HTTP/1.1\r\n\r\n",
            "GET /v1/accounts/work/headers HTTP/1.1\r\n\r\n",
            "GET /v1/accounts/work/header HTTP/1.1\nHost: x\r\n\r\n",  // bare \n
            "GET /v1/accounts/work/header HTTP/1.1\r\nHost: x\n\r\n",
            "GET /v1/accounts/work/header HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n",  // obs-fold
            "GET /v1/accounts/work/header HTTP/1.1\r\nHost : x\r\n\r\n",
            "GET /v1/accounts/work/header HTTP/1.1\r\n: x\r\n\r\n",
            "GET /v1/accounts/work/header HTTP/1.1\r\nHost: \u{1}\r\n\r\n",
            "GET /v1/accounts/work/header HTTP/1.1\r\nHost: é\r\n\r\n",
            "GET /v1/accounts/work/header HTTP/1.1\r\nContent-Length: 0\r\n\r\n",
            "GET /v1/accounts/work/header HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            "GET /v1/accounts/work/header HTTP/1.1\r\nExpect: 100-continue\r\n\r\n",
            "GET /v1/accounts/work/header HTTP/1.1\r\nUpgrade: h2c\r\n\r\n",
            "GET /v1/accounts/work/header HTTP/1.1\r\nConnection: upgrade\r\n\r\n",
            "GET /v1/accounts/work/header HTTP/1.1\r\nHost: x\r\n",  // no blank line yet
            "GET /v1/accounts/work/header HTTP/1.1\r\nHost: x\r\n\r",
        ]
        for text in refused { #expect(Self.head(text) == .other, "\(text.debugDescription)") }
        // An oversize head is never looked at (NIO's decoder answers it).
        let long = "GET /v1/accounts/work/header HTTP/1.1\r\nX: " + String(repeating: "a", count: 9000) + "\r\n\r\n"
        #expect(HotPathHandler.headEnd(ByteBuffer(string: long)) == nil)
    }

    /// Differential fuzzing: whenever the strict reader takes a mutated request as a cached
    /// route, SwiftNIO's HTTP/1.1 decoder must read the same GET, target, version, keep-alive
    /// and no body from the same bytes — so the fast path never answers something the full
    /// pipeline would have read differently.
    @Test func theStrictReaderAgreesWithNIOsDecoder() async throws {
        let iterations = Int(getenv("LATCHKEY_FUZZ_ITERATIONS").map { String(cString: $0) } ?? "") ?? 1500
        // Seconds of synchronous work: on a thread of its own, not the cooperative pool that the
        // in-process servers of the other tests need.
        let (hot, disagreements) = try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(with: Result { try Self.differentialFuzz(iterations * 10) })
            }
        }
        print(
            "hot path: \(iterations * 10) mutated requests, \(hot) read as cached routes, \(disagreements.count) read otherwise by NIO"
        )
        #expect(disagreements.isEmpty, "\(disagreements.prefix(5))")
        #expect(hot > 0)
    }

    /// (inputs the strict reader took, those NIO read differently)
    static func differentialFuzz(_ count: Int) throws -> (Int, [String]) {
        let corpus = [
            "GET /v1/accounts/work/header HTTP/1.1\r\nHost: localhost\r\nConnection: keep-alive\r\n\r\n",
            "GET /v1/accounts/work/token HTTP/1.1\r\nHost: localhost\r\nUser-Agent: latchkey/1\r\nConnection: close\r\n\r\n",
            "GET /v1/accounts/mail.example-1/header HTTP/1.1\r\nAccept: */*\r\n\r\n",
        ].map { Array($0.utf8) }
        var random = SplitMix(seed: 20_261_122)
        var hot = 0
        var disagreements: [String] = []
        for i in 0..<count {
            let input = Mutator.mutate(corpus[i % corpus.count], &random)
            let buffer = ByteBuffer(bytes: input)
            guard let end = HotPathHandler.headEnd(buffer),
                case .hot(let route, let account, let close) = HotPathHandler.parse(buffer, headLength: end)
            else { continue }
            hot += 1
            let text = String(decoding: input[0..<end], as: UTF8.self).debugDescription
            let channel = EmbeddedChannel(
                handler: ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .dropBytes)))
            defer { _ = try? channel.finish() }
            try channel.writeInbound(ByteBuffer(bytes: input[0..<end]))
            guard case .head(let head) = try channel.readInbound(as: HTTPServerRequestPart.self) else {
                disagreements.append("no head: \(text)")
                continue
            }
            let uri = "/v1/accounts/\(account)/\(route == .header ? "header" : "token")"
            guard head.method == .GET, head.version == .http1_1, head.uri == uri, head.isKeepAlive == !close else {
                disagreements.append(
                    "\(head.method) \(head.uri) \(head.version) keep-alive \(head.isKeepAlive): \(text)")
                continue
            }
            guard case .end = try channel.readInbound(as: HTTPServerRequestPart.self) else {
                disagreements.append("a body: \(text)")
                continue
            }
        }
        return (hot, disagreements)
    }

    static func token(expiresIn seconds: Double) -> AccessToken {
        let now = WallClock.now()
        return AccessToken(
            value: Secret("eyJhbGciOi" + String(repeating: "x", count: 1200) + ".sig"), issuedAt: now,
            expiresAt: now + seconds, scopes: ["openid", "mail.read"])
    }

    /// A cached answer is the router's answer: same fields, same values.
    @Test func cachedAnswersAreTheRoutersAnswers() async throws {
        let token = Self.token(expiresIn: 3600)
        try await SocketAPITests.withServer(token: token) { client, _ in
            let hot = try client.request("GET", "/v1/accounts/work/header")
            // A query: the router's path.
            let routed = try client.request("GET", "/v1/accounts/work/header?min_valid=60")
            #expect(hot.status == 200 && routed.status == 200)
            #expect(hot.json?["header"]?.stringValue == "Authorization: Bearer " + token.value.reveal())
            #expect(hot.json?["header"] == routed.json?["header"])
            #expect(hot.json?["value"] == routed.json?["value"])
            #expect(hot.json?["expires_at"] == routed.json?["expires_at"])
            let before = WallClock.now()
            let hotToken = try client.request("GET", "/v1/accounts/work/token")
            let after = WallClock.now()
            let routedToken = try client.request("GET", "/v1/accounts/work/token?min_valid=60")
            #expect(hotToken.json?["access_token"]?.stringValue == token.value.reveal())
            for key in ["access_token", "token_type", "expires_at"] {
                #expect(hotToken.json?[key] == routedToken.json?[key])
            }
            let left = hotToken.json?["expires_in"]?.doubleValue ?? 0
            // Whole seconds left when the daemon answered, somewhere between the two clock reads.
            #expect(left >= (token.expiresAt - after).rounded(.down) - 1 && left <= token.expiresAt - before, "\(left)")
            let metrics = try client.request("GET", "/metrics")
            #expect(String(decoding: metrics.body, as: UTF8.self).contains("latchkey_credentials_handed_out_total 4\n"))
            #expect(String(decoding: metrics.body, as: UTF8.self).contains("latchkey_token_cache_hits_total 4\n"))
        }
    }

    /// Keep-alive, pipelined requests and heads split across reads are answered in order; a
    /// request the table does not serve hands the rest of the connection to NIO's pipeline.
    @Test func pipelinedAndSplitRequestsAreAnsweredInOrder() async throws {
        try await SocketAPITests.withServer(token: Self.token(expiresIn: 3600)) { _, path in
            let connection = RawConnection(path)
            let header = "GET /v1/accounts/work/header HTTP/1.1\r\nHost: x\r\n\r\n"
            connection.send(Array(String(header.prefix(20)).utf8))
            usleep(100_000)
            connection.send(
                Array(
                    (String(header.dropFirst(20)) + header + "GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n"
                        + "GET /v1/accounts/work/token HTTP/1.1\r\nConnection: close\r\n\r\n").utf8))
            // The cached answers come from the event loop; /v1/health and the token after it
            // need the router on Swift's cooperative pool, which synchronous tests elsewhere in
            // this process (Kerberos, for seconds) can keep busy: wait as the other socket tests do.
            let text = connection.readToEnd(timeout: 30)
            #expect(connection.closedByPeer)
            let statuses = text.split(separator: "HTTP/1.1 ", omittingEmptySubsequences: false).dropFirst().map {
                String($0.prefix(3))
            }
            #expect(statuses == ["200", "200", "200", "200"])
            #expect(
                text.split(separator: "\"header\":\"Authorization: Bearer ", omittingEmptySubsequences: false).count
                    == 3)
            #expect(text.contains("\"status\":\"ok\""))
            #expect(text.hasSuffix("}\n") && text.contains("\"access_token\":"))
        }
    }

    /// A client that pipelines requests and never reads the answers cannot make them pile up in
    /// the daemon's memory or hold the connection: once the socket stops taking answers, NIO's
    /// daemon reads no further on either path, and the idle limit closes the connection.
    /// Another client is served meanwhile.
    @Test(arguments: ["/v1/accounts/work/header", "/v1/accounts"])  // the cached path, NIO's path
    func aClientThatNeverReadsIsClosedAndNothingPilesUp(target: String) async throws {
        try await SocketAPITests.withServer(limits: .init(idleTimeout: .seconds(1)), token: Self.token(expiresIn: 3600))
        { client, path in
            let connection = RawConnection(path)
            let request = Array("GET \(target) HTTP/1.1\r\nHost: x\r\n\r\n".utf8)
            // About 50 MB of answers.
            DispatchQueue(label: "sender").async { for _ in 0..<20_000 { connection.send(request) } }
            // Never reading: wait until the daemon closes its end (POLLRDHUP, which Glibc's
            // Swift module hides behind _GNU_SOURCE), or 20 s.
            let pollRDHUP: Int16 = 0x2000
            var events = pollfd(fd: connection.fd, events: pollRDHUP, revents: 0)
            let closed = poll(&events, 1, 20_000) == 1 && events.revents & pollRDHUP != 0
            #expect(closed, "the daemon kept a connection that never reads")
            let other = try client.request("GET", "/v1/accounts/work/header")
            #expect(other.status == 200)
            let text = connection.readToEnd(timeout: 10)
            #expect(connection.closedByPeer)
            let answered = text.split(separator: "HTTP/1.1 200", omittingEmptySubsequences: false).count - 1
            print("never reads, \(target): \(answered) answers, \(text.utf8.count) bytes")
            #expect(answered > 0 && answered < 2_000, "\(answered) answers")
        }
    }
}
