import Dispatch
import LatchkeyBroker
import LatchkeyClient
import LatchkeyCore
import LatchkeyHTTP
import LatchkeyOAuth
import LatchkeyServer
import LatchkeyStore
import Logging
import NIOPosix
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The socket API in process: the real NIO server on a temporary Unix socket, asked by the
/// real thin-client code. No provider is needed for these routes.
@Suite struct SocketAPITests {
    /// `body` is synchronous, like the thin client, and runs on its own thread: blocking socket
    /// calls must not occupy the cooperative pool the server's handlers need.
    /// The server runs as latchkeyd runs it, with the cached-answer table (HotAnswers). With a
    /// `token`, the account is signed in from the store as after a restart (no provider needed).
    static func withServer(
        limits: SocketServer.Limits = .init(), token: AccessToken? = nil, allowedClients: [String] = [],
        _ body: @escaping @Sendable (DaemonClient, String) throws -> Void
    ) async throws {
        var template = Array("/tmp/latchkey-api-XXXXXX".utf8CString)
        let folder = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)!) }
        let path = folder + "/latchkey/latchkey.sock"
        var configuration = Configuration()
        var account = AccountConfig(name: "work")
        account.clientID = "latchkey-test"
        account.issuer = "https://127.0.0.1:9/"
        account.allowedClients = allowedClients
        configuration.accounts = [account]
        let logger = Logger(label: "test")
        let store = MemoryStore()
        if let token {
            try await store.write(account: "work", kind: .refreshToken, value: Secret("test-refresh-token"))
            try await store.write(account: "work", kind: .accessToken, value: StoredAccessToken.encode(token))
        }
        let hot = HotAnswers()
        let broker = Broker(
            configuration: configuration, oauth: OAuthClient(http: HTTPClient()), store: store, publisher: hot,
            logger: logger)
        await broker.restore()
        let lock = try await SocketServer.prepare(path: path)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let server = SocketServer(
            path: path, router: Router(broker: broker, logger: logger), logger: logger, group: group, limits: limits,
            hot: hot)
        let services = ServiceGroup(services: [BrokerService(broker: broker), server], logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await services.run() }
            let client = DaemonClient(socketPath: path)
            // Ready when the socket accepts connections (a connect does not block on handlers).
            for _ in 0..<500 where (try? SocketConnection(path: path)) == nil {
                try await Task.sleep(for: .milliseconds(10))
            }
            do {
                try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, Error>) in
                    DispatchQueue.global().async {
                        do { try body(client, path); continuation.resume() } catch {
                            continuation.resume(throwing: error)
                        }
                    }
                }
            } catch {
                services.triggerGracefulShutdown()
                throw error
            }
            services.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
        try await group.shutdownGracefully()
        lock.release()
        unlink(DaemonLock.path(socket: path))
        rmdir(folder + "/latchkey")
        rmdir(folder)
    }

    @Test func healthAndAccountsWithTheSocketPrivate() async throws {
        try await Self.withServer { client, path in
            let health = try client.request("GET", "/v1/health")
            #expect(health.status == 200)
            #expect(health.json?["status"]?.stringValue == "ok")
            let accounts = try client.request("GET", "/v1/accounts")
            #expect(accounts.json?["accounts"]?.arrayValue?.first?["state"]?.stringValue == "signed_out")
            var info = stat()
            #expect(stat(path, &info) == 0)
            #expect(info.st_mode & 0o777 == 0o600)
            let folder = String(path.dropLast("/latchkey.sock".count))
            #expect(stat(folder, &info) == 0)
            #expect(info.st_mode & 0o777 == 0o700)
        }
    }

    @Test func errorsCarryStableCodesAndStatuses() async throws {
        try await Self.withServer { client, _ in
            let unknown = try client.request("GET", "/v1/accounts/nobody/token")
            #expect(unknown.status == 404)
            #expect(unknown.error?.code == .unknownAccount)
            let signedOut = try client.request("GET", "/v1/accounts/work/token")
            #expect(signedOut.status == 409)
            #expect(signedOut.error?.code == .signinRequired)
            #expect(signedOut.error?.hint == "Run `latchkey login work`.")
            let badMinValid = try client.request("GET", "/v1/accounts/work/token?min_valid=-3")
            #expect(badMinValid.status == 400)
            #expect(badMinValid.error?.code == .badRequest)
            let noRoute = try client.request("GET", "/v2/nothing")
            #expect(noRoute.status == 400)
            let wrongMethod = try client.request("PUT", "/v1/accounts/work/token")
            #expect(wrongMethod.error?.message.contains("not allowed") == true)
        }
    }

    @Test func malformedHTTPGets400AndTheConnectionCloses() async throws {
        try await Self.withServer { client, path in
            let garbage = Array("GET / HTTP/1.1\r\nHost localhost\r\n\u{0}\u{1}\r\n\r\n".utf8)
            let text = RawConnection(path).exchange(garbage)
            #expect(text.hasPrefix("HTTP/1.1 400"))
            #expect(text.contains("bad_request"))
            // The daemon is still serving others.
            let health = try client.request("GET", "/v1/health")
            #expect(health.status == 200)
        }
    }
}
