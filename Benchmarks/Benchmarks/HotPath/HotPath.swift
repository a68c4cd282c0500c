// Micro-benchmarks of the cached hand-out path: what the daemon does for every
// `GET /v1/accounts/{name}/header` once the token is in memory, piece by piece.
//
// The code measured is the main package's own (LatchkeyCore, APIRequest and AccountSummary are
// compiled from its files, see Package.swift). Where the code lives in modules the benchmarks
// cannot link yet (the Broker actor, the Router, the NIO handler), the same steps are written out
// here, each marked "as in <file>"; a candidate change is marked "candidate" and measured beside
// the code it would replace.
import Benchmark
import Glibc
import LatchkeyBrokerLink
import LatchkeyCore
import LatchkeyServerLink
import Logging

// MARK: Fixtures

/// A JWT-sized access token: base64url, 1,400 characters (Microsoft's are 1.5–2.5 KB; the test
/// provider's about 900).
let tokenText: String = {
    let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
    var bytes: [UInt8] = []
    var x: UInt32 = 2_463_534_242
    for i in 0..<1400 {
        x ^= x << 13; x ^= x >> 17; x ^= x << 5
        bytes.append(i == 36 || i == 700 ? UInt8(ascii: ".") : alphabet[Int(x % 64)])
    }
    return String(decoding: bytes, as: UTF8.self)
}()

let now = Timestamp(secondsSinceEpoch: 1_790_000_000)
let cachedToken = AccessToken(
    value: Secret(tokenText), issuedAt: now + -600, expiresAt: now + 3000,
    scopes: ["openid", "offline_access", "mail.read"])

/// A configuration of `count` OAuth accounts, as a person would write them.
func configurationText(accounts count: Int) -> String {
    var text = "[broker]\nstore = \"memory\"\n\n"
    for i in 0..<count {
        text += """
            [accounts.acct\(i)]
            method = "oauth"
            provider = "oidc"
            issuer = "https://127.0.0.1:8443"
            client_id = "latchkey-test"
            scopes = ["openid", "offline_access", "mail.read"]
            ca_file = "/tmp/latchkey-testenv/ca/ca.pem"


            """
    }
    return text
}

/// The per-account state the broker keeps, with the fields of `Broker.Account` that make a
/// copy of it cost something (as in Sources/LatchkeyBroker/Broker.swift).
struct Account {
    var config: AccountConfig
    var machine: TokenMachine
    var refreshToken: Secret<String>?
    var waiters: [UnsafeContinuation<Int, Never>] = []
    var lastRefresh: Timestamp?
    var needsRestore = false
    var pendingWrites: [String: Secret<String>] = [:]
    var nextWriteRetry: Timestamp?
    var jitter = 0.5
    var notifiedAt: Timestamp?
    var generation = 0
    var scoped: [String: TokenMachine] = [:]
}

struct Metrics {
    var cacheHits = 0
    var handedOut = 0
}

/// The broker's accounts table, every account signed in. Built directly, not through
/// `Configuration.parse` (which takes seconds for 10,000 accounts: see "Config parse").
func accountsTable(_ count: Int) -> [String: Account] {
    var table: [String: Account] = [:]
    for i in 0..<count {
        var config = AccountConfig(name: "acct\(i)")
        config.issuer = "https://127.0.0.1:8443"
        config.clientID = "latchkey-test"
        config.scopes = ["openid", "offline_access", "mail.read"]
        config.caFile = "/tmp/latchkey-testenv/ca/ca.pem"
        var machine = TokenMachine(account: config.name)
        machine.signedIn(cachedToken, hasRefreshToken: true)
        table[config.name] = Account(config: config, machine: machine, refreshToken: Secret("rt-" + config.name))
    }
    return table
}

/// Built once per process (a benchmark's closure runs once per sample).
final class AccountsBox: @unchecked Sendable {
    var accounts: [String: Account]
    var metrics = Metrics()
    init(_ count: Int) { accounts = accountsTable(count) }
}

let oneAccount = AccountsBox(1)
let tenThousandAccounts = AccountsBox(10_000)

/// `Broker.token(account:)` → `currentToken` for a token in the cache, step by step as in
/// Sources/LatchkeyBroker/Broker.swift (and Broker+Auto.swift's `resolveAutoMethod`): the
/// account's configuration is copied out three times and the whole account twice.
@inline(never)
func brokerCachedToken(
    _ accounts: inout [String: Account], _ metrics: inout Metrics, _ name: String, minValid: Double?,
    defaultMinValid: Double
)
    -> AccessToken?
{
    guard let original = accounts[name]?.config else { return nil }
    guard original.allowedClients.isEmpty else { return nil }  // authorize()
    if let auto = accounts[name]?.config, auto.method == .auto { return nil }  // resolveAutoMethod()
    guard let config = accounts[name]?.config else { return nil }
    guard config.allowedClients.isEmpty else { return nil }  // authorize() again
    let scopes: [String] = []
    let key: String? = scopes.isEmpty || Set(scopes) == Set(config.scopes) ? nil : ""  // scopeKey()
    // currentToken()
    guard let account = accounts[name], account.config.method == .oauth else { return nil }
    if account.needsRestore && account.machine.state == .signedOut { return nil }
    if let retry = accounts[name]?.nextWriteRetry, now >= retry { accounts[name]?.nextWriteRetry = nil }
    let wanted = minValid ?? account.config.minValid ?? defaultMinValid
    guard let current = accounts[name], key == nil || current.scoped[key!] != nil else { return nil }
    guard accounts[name] != nil else { return nil }  // withMachine()
    switch accounts[name]!.machine.request(minValid: wanted, now: now) {
    case .serve(let token):
        metrics.cacheHits += 1
        metrics.handedOut += 1
        return token
    default:
        return nil
    }
}

/// Candidate: one hash lookup, the account read and its machine updated in place, no copies
/// of the account or its configuration.
@inline(never)
func lookupOnce(
    _ accounts: inout [String: Account], _ metrics: inout Metrics, _ name: String, minValid: Double?,
    defaultMinValid: Double
)
    -> AccessToken?
{
    guard let index = accounts.index(forKey: name) else { return nil }
    guard accounts.values[index].config.allowedClients.isEmpty, accounts.values[index].config.method == .oauth else {
        return nil
    }
    let wanted = minValid ?? accounts.values[index].config.minValid ?? defaultMinValid
    switch accounts.values[index].machine.request(minValid: wanted, now: now) {
    case .serve(let token):
        metrics.cacheHits += 1
        metrics.handedOut += 1
        return token
    default:
        return nil
    }
}

/// The answer to `GET …/header`, as Router.swift builds it and HTTPHandler.swift writes it
/// (JSON text, a newline, and the Content-Length as text).
@inline(never)
func headerAnswerToday(_ token: AccessToken) -> (String, String) {
    let value = "Bearer " + token.value.reveal()  // Broker.authorization
    let json = JSONValue.object([
        ("header", .string("Authorization: " + value)), ("value", .string(value)),
        ("expires_at", .number(Double(token.expiresAt.unixSeconds))),
    ])
    var body = json.encoded
    body += "\n"
    return (body, String(body.utf8.count))
}

/// A reference for JSONValue.writeString (which now has the same fast path): copy a string that
/// needs no escaping in one append, and fall back to the per-scalar loop otherwise.
func writeStringFast(_ s: String, to out: inout String) {
    for byte in s.utf8 where byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") {
        JSONValue.writeString(s, to: &out)
        return
    }
    out += "\""
    out += s
    out += "\""
}

@inline(never)
func headerAnswerFastStrings(_ token: AccessToken) -> [UInt8] {
    let value = "Bearer " + token.value.reveal()
    var body = ""
    body.reserveCapacity(2 * value.utf8.count + 80)
    body += "{\"header\":"
    writeStringFast("Authorization: " + value, to: &body)
    body += ",\"value\":"
    writeStringFast(value, to: &body)
    body += ",\"expires_at\":"
    body += String(token.expiresAt.unixSeconds)
    body += "}\n"
    return Array(body.utf8)
}

/// The encoded answer kept beside the token and reused until the token changes (one comparison
/// of the expiry and the value's identity per request): what HotAnswers does for the cached path.
final class EncodedAnswerCache {
    var expiresAt: Timestamp?
    var tokenValue: String = ""
    var bytes: [UInt8] = []

    @inline(never)
    func answer(for token: AccessToken) -> [UInt8] {
        if expiresAt == token.expiresAt, tokenValue == token.value.reveal() { return bytes }
        bytes = headerAnswerFastStrings(token)
        expiresAt = token.expiresAt
        tokenValue = token.value.reveal()
        return bytes
    }
}

/// Runs `body` with standard error sent to /dev/null (the audit-log benchmark writes there).
func withStandardErrorDiscarded<T>(_ body: () -> T) -> T {
    fflush(nil)
    let saved = dup(2)
    let null = open("/dev/null", O_WRONLY)
    dup2(null, 2)
    close(null)
    defer {
        fflush(nil)
        dup2(saved, 2)
        close(saved)
    }
    return body()
}

// MARK: Benchmarks

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .mallocCountTotal, .throughput],
        warmupIterations: 10,
        scalingFactor: .kilo,
        maxDuration: .milliseconds(500),
        maxIterations: 2_000
    )

    // --- cache lookup

    Benchmark("Cache lookup: TokenMachine.request, valid token") { benchmark in
        var machine = TokenMachine(account: "work")
        machine.signedIn(cachedToken, hasRefreshToken: true)
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            blackHole(machine.request(minValid: 60, now: now))
        }
    }

    for (count, box) in [(1, oneAccount), (10_000, tenThousandAccounts)] {
        let name = "acct\(count / 2)"
        Benchmark("Cache lookup: the broker's steps, \(count) account(s)") { benchmark in
            for _ in benchmark.scaledIterations {
                blackHole(brokerCachedToken(&box.accounts, &box.metrics, name, minValid: nil, defaultMinValid: 60))
            }
        }
        Benchmark("Cache lookup: one lookup, no copies (alternative), \(count) account(s)") { benchmark in
            for _ in benchmark.scaledIterations {
                blackHole(lookupOnce(&box.accounts, &box.metrics, name, minValid: nil, defaultMinValid: 60))
            }
        }
    }

    // --- request decoding and the audit line

    Benchmark("Request: APIRequest(target: /v1/accounts/work/header)") { benchmark in
        let client = ClientIdentity(pid: 4242, uid: 1000, executable: "/usr/bin/mbsync")
        for _ in benchmark.scaledIterations {
            blackHole(APIRequest(method: "GET", target: "/v1/accounts/work/header", client: client))
        }
    }

    Benchmark("Audit line: swift-log StreamLogHandler at info (to /dev/null)") { benchmark in
        let logger = Logger(label: "latchkey") { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = .info  // the daemon's default level (Serve.swift)
            return handler
        }
        let client = ClientIdentity(pid: 4242, uid: 1000, executable: "/usr/bin/mbsync")
        withStandardErrorDiscarded {
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations {
                // as in Broker.token(account:)
                logger.info(
                    "credential handed out",
                    metadata: [
                        "account": "work", "pid": "\(client.pid)", "exe": "\(client.executable ?? "?")",
                        "scope": "\(cachedToken.scopes.joined(separator: " "))",
                    ])
            }
            benchmark.stopMeasurement()
        }
    }

    // --- header formatting

    Benchmark("Header answer: built per request (the router's path: queries, misses)") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(headerAnswerToday(cachedToken))
        }
    }

    Benchmark("Header answer: built per request, one-append string escaping (alternative)") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(headerAnswerFastStrings(cachedToken))
        }
    }

    Benchmark("Header answer: encoded once per token, reused (the cached path, as HotAnswers does)") { benchmark in
        let cache = EncodedAnswerCache()
        for _ in benchmark.scaledIterations {
            blackHole(cache.answer(for: cachedToken))
        }
    }

    // --- JSON

    Benchmark("JSON encode: token answer") { benchmark in
        let json = JSONValue.object([
            ("access_token", .string(tokenText)), ("token_type", "Bearer"),
            ("expires_at", .number(Double(cachedToken.expiresAt.unixSeconds))), ("expires_in", 3000),
        ])
        for _ in benchmark.scaledIterations {
            blackHole(json.encoded)
        }
    }

    Benchmark("JSON encode: writeString of a 1,400-byte token (JSONValue)") { benchmark in
        for _ in benchmark.scaledIterations {
            var out = ""
            JSONValue.writeString(tokenText, to: &out)
            blackHole(out)
        }
    }

    Benchmark("JSON encode: writeString of a 1,400-byte token, one append (reference)") { benchmark in
        for _ in benchmark.scaledIterations {
            var out = ""
            writeStringFast(tokenText, to: &out)
            blackHole(out)
        }
    }

    Benchmark("JSON parse: header answer (the thin client's full command line; its fast path scans for one field)") {
        benchmark in
        let bytes = Array(headerAnswerToday(cachedToken).0.utf8)
        for _ in benchmark.scaledIterations {
            blackHole(try? JSONValue.parse(bytes))
        }
    }

    Benchmark(
        "JSON encode: status of 10,000 accounts (AccountSummary.json)",
        configuration: .init(scalingFactor: .one, maxDuration: .seconds(1), maxIterations: 20)
    ) { benchmark in
        let summaries = (0..<10_000).map { i in
            AccountSummary.bench(
                name: "acct\(i)", state: .valid, expiresAt: cachedToken.expiresAt, scopes: cachedToken.scopes)
        }
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            let accounts = summaries.map { $0.json(detailed: false) }
            blackHole(JSONValue.object([("accounts", .array(accounts)), ("store", "memory")]).encoded)
        }
    }

    // --- start-up with many accounts: twice the accounts should take twice the time

    for count in [1_000, 2_000] {
        Benchmark(
            "Config parse: \(count) accounts",
            configuration: .init(scalingFactor: .one, maxDuration: .seconds(2), maxIterations: 5)
        ) { benchmark in
            let text = configurationText(accounts: count)
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations {
                blackHole(try? Configuration.parse(text, file: "bench.toml"))
            }
        }
    }
}
