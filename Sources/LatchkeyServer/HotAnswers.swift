import LatchkeyBroker
import LatchkeyCore
import NIOCore
import Synchronization

/// The answers to `GET /v1/accounts/NAME/header` and `…/token` (no query), encoded once per
/// token, which `HotPathHandler` writes without leaving the event loop. The broker fills and
/// empties the table (`TokenPublisher`); a request it cannot answer takes the full path.
public final class HotAnswers: TokenPublisher {
    struct Published: Sendable {
        let token: AccessToken
        let minValid: Double?
        /// The last request for it (kept across tokens: `publish` carries the box over). A box,
        /// so a request only reads the table: writing into the dictionary's entry on every
        /// request moved the whole entry out and back (the cached header was 6-7 % slower).
        let use: Use
        /// Encoded at the first request for it (accounts nobody asks for over the socket cost
        /// no more memory than their token).
        var encoded: Entry?
    }

    /// When the account was last asked for on the cached path (seconds since the epoch as bits;
    /// 0 for never), written without a lock by the event loops that serve it.
    final class Use: Sendable {
        let lastServed = Atomic<UInt64>(0)

        init() {}

        var timestamp: Timestamp? {
            let bits = lastServed.load(ordering: .relaxed)
            return bits == 0 ? nil : Timestamp(secondsSinceEpoch: Double(bitPattern: bits))
        }
    }

    struct Entry: Sendable {
        let token: AccessToken
        let minValid: Double?
        /// The whole keep-alive answer of `…/header`, from the status line on.
        let header: ByteBuffer
        /// Where the blank line that ends the head starts in `header` (`Connection: close` goes there).
        let headerHeadEnd: Int
        /// The body of `…/token` up to `"expires_in":` (the count and `}` follow per request).
        let tokenBodyPrefix: ByteBuffer
        let scopes: String

        init(token: AccessToken, minValid: Double?) {
            self.token = token
            self.minValid = minValid
            scopes = token.scopes.joined(separator: " ")
            // The router's documents (AnswerDocuments), encoded the same way.
            let body =
                AnswerDocuments.header(value: "Bearer " + token.value.reveal(), expiresAt: token.expiresAt).encoded
                + "\n"
            var header = ByteBufferAllocator().buffer(capacity: body.utf8.count + 128)
            header.writeString(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\nCache-Control: no-store\r\n"
            )
            headerHeadEnd = header.writerIndex
            header.writeString("\r\n")
            header.writeString(body)
            self.header = header
            var prefix = JSONValue.object(AnswerDocuments.tokenMembers(token)).encoded
            prefix.removeLast()  // the closing brace
            prefix += ",\"expires_in\":"
            tokenBodyPrefix = ByteBuffer(string: prefix)
        }
    }

    private let table = Mutex<[String: Published]>([:])
    private let defaultMinValid = Atomic<UInt64>(Double(60).bitPattern)
    private let served = Atomic<Int>(0)

    public init() {}

    // MARK: TokenPublisher (called by the broker actor)

    public func publish(account: String, token: AccessToken, minValid: Double?) {
        table.withLock { table in
            if let current = table[account], current.token == token, current.minValid == minValid { return }
            table[account] = Published(token: token, minValid: minValid, use: table[account]?.use ?? Use())
        }
    }

    public func withdraw(account: String) {
        table.withLock { table in
            if table[account] != nil { table[account] = nil }
        }
    }

    public func setDefaultMinValid(_ seconds: Double) {
        defaultMinValid.store(seconds.bitPattern, ordering: .relaxed)
    }

    public var handedOut: Int { served.load(ordering: .relaxed) }

    public func lastServed(account: String) -> Timestamp? {
        table.withLock { $0[account]?.use }?.timestamp
    }

    // MARK: Serving (event loop)

    /// The entry of `account` if its token has at least its `min_valid` left at `now`.
    func servable(_ account: String, now: Timestamp) -> Entry? {
        guard let published = table.withLock({ $0[account] }) else { return nil }
        // A request for the account: it is in use.
        published.use.lastServed.store(now.secondsSinceEpoch.bitPattern, ordering: .relaxed)
        let minValid = published.minValid ?? Double(bitPattern: defaultMinValid.load(ordering: .relaxed))
        guard published.token.remaining(at: now) >= minValid else { return nil }
        if let encoded = published.encoded { return encoded }
        let entry = Entry(token: published.token, minValid: published.minValid)  // encoded outside the lock
        table.withLock { table in
            // Kept only if the broker has not published another token meanwhile.
            if table[account]?.token == published.token, table[account]?.minValid == published.minValid {
                table[account]?.encoded = entry
            }
        }
        return entry
    }

    func countHandOut() {
        served.add(1, ordering: .relaxed)
    }
}
