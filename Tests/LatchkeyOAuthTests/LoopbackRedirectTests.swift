import Dispatch
import LatchkeyCore
import Testing

@testable import LatchkeyOAuth

#if canImport(Glibc)
    import Glibc
#endif

/// The test's own socket calls block: they run on Dispatch threads (`get`), never on the
/// cooperative pool the listener's wait needs to start.
@Suite(.serialized) struct LoopbackRedirectTests {
    /// The start page redirects to the authorization URL once; the code comes back only with
    /// the state, on a connection of this user, while a silent connection waits beside it.
    @Test func startPageRedirectsOnceAndTheCodeComesBack() async throws {
        let listener = try LoopbackRedirect()
        let authorize = "https://provider.example/authorize?state=s3cret&code_challenge=c"
        #expect(
            !listener.startURL.contains("s3cret")
                && listener.startURL.hasPrefix("http://127.0.0.1:\(listener.port)/start/"))
        async let code = listener.waitForCode(authorizationURL: authorize, state: "s3cret", timeout: 30)
        let silent = try connect(listener.port)  // sends nothing: holds nothing up
        defer { close(silent) }
        let path = String(listener.startURL.dropFirst("http://127.0.0.1:\(listener.port)".count))
        #expect(try await get(listener.port, path).hasPrefix("HTTP/1.1 302 Found\r\nLocation: \(authorize)\r\n"))
        #expect(try await get(listener.port, path).hasPrefix("HTTP/1.1 410"))
        #expect(try await get(listener.port, "/?code=abc&state=forged").hasPrefix("HTTP/1.1 400"))
        #expect(try await get(listener.port, "/?code=abc&state=s3cret").hasPrefix("HTTP/1.1 200"))
        #expect(try await code.reveal() == "abc")
    }

    /// Before the start page was opened, nobody can know the state: no code is taken.
    @Test func noCodeBeforeTheStartPage() async throws {
        let listener = try LoopbackRedirect()
        async let code = listener.waitForCode(authorizationURL: "https://p.example/a?state=s", state: "s", timeout: 30)
        #expect(try await get(listener.port, "/?code=abc&state=s").hasPrefix("HTTP/1.1 400"))
        let path = String(listener.startURL.dropFirst("http://127.0.0.1:\(listener.port)".count))
        _ = try await get(listener.port, path)
        #expect(try await get(listener.port, "/?code=def&state=s").hasPrefix("HTTP/1.1 200"))
        #expect(try await code.reveal() == "def")
    }

    /// Cancelling the wait ends it at once.
    @Test func cancellingEndsTheWait() async throws {
        let listener = try LoopbackRedirect()
        let wait = Task {
            try await listener.waitForCode(authorizationURL: "https://p.example/a", state: "s", timeout: 600)
        }
        wait.cancel()
        await #expect(throws: OAuthError.self) { try await wait.value }
    }

    /// The owner of this process's own loopback socket, read from /proc/net/tcp.
    @Test func theOwnerOfALoopbackPeerIsThisUser() throws {
        let listener = try LoopbackRedirect()
        let client = try connect(listener.port)
        defer { close(client) }
        var peer = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &peer) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(client, $0, &length) }
        }
        var local = sockaddr_in()
        local.sin_family = sa_family_t(AF_INET)
        local.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        local.sin_port = UInt16(listener.port).bigEndian
        #expect(LoopbackPeer.owner(peer: peer, local: local) == getuid())
        local.sin_port = UInt16(listener.port &+ 1).bigEndian
        #expect(LoopbackPeer.owner(peer: peer, local: local) == nil)
    }

    private func connect(_ port: Int) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        address.sin_port = UInt16(port).bigEndian
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        try #require(result == 0)
        return fd
    }

    private func get(_ port: Int, _ target: String) async throws -> String {
        let answer: Result<String, any Error> = await withCheckedContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(returning: Result { try blockingGet(port, target) }) }
        }
        return try answer.get()
    }

    /// One GET; the answer's bytes until the listener closes the connection.
    private func blockingGet(_ port: Int, _ target: String) throws -> String {
        let fd = try connect(port)
        defer { close(fd) }
        let request = Array("GET \(target) HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".utf8)
        _ = request.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
        var answer: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { break }
            answer += chunk[0..<n]
        }
        return String(decoding: answer, as: UTF8.self)
    }
}
