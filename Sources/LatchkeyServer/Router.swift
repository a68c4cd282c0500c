import LatchkeyBroker
import LatchkeyCore
import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// Maps socket API requests to broker calls and back (SPEC.md §4). No token logic here.
public struct Router: Sendable {
    let broker: Broker
    let logger: Logger
    let ownUID: UInt32

    public init(broker: Broker, logger: Logger, ownUID: UInt32 = getuid()) {
        self.broker = broker
        self.logger = logger
        self.ownUID = ownUID
    }

    public func handle(_ request: APIRequest) async -> APIResponse {
        // Peer check (SPEC.md §4): only processes of the daemon's own user are served.
        if let client = request.client, client.uid != ownUID {
            logger.warning(
                "client refused: another user",
                metadata: ["uid": "\(client.uid)", "pid": "\(client.pid)", "exe": "\(client.executable ?? "?")"])
            await broker.countRefusal()
            return .error(
                LatchkeyError(
                    .forbidden,
                    "This Latchkey daemon serves only its own user (uid \(ownUID)); the client runs as uid \(client.uid).",
                    hint: "Run the client as the daemon's user, or start a daemon of your own."))
        }
        do {
            return try await route(request)
        } catch {
            return .error(error)
        }
    }

    private func route(_ request: APIRequest) async throws(LatchkeyError) -> APIResponse {
        let s = request.segments
        switch (request.method, s.count) {
        case ("GET", 2) where s == ["v1", "health"]:
            return .ok(.object([("status", "ok"), ("version", .string(LatchkeyVersion.current))]))
        case ("GET", 2) where s == ["v1", "accounts"]:
            let accounts = await broker.summaries().map { $0.json(detailed: false) }
            var members: [(String, JSONValue)] = [("accounts", .array(accounts)), ("store", .string(broker.storeName))]
            if let warning = broker.storeWarning { members.append(("store_warning", .string(warning))) }
            return .ok(.object(members))
        case ("GET", 3) where s[0] == "v1" && s[1] == "accounts":
            return .ok(try await broker.summary(account: s[2]).json(detailed: true))
        case ("GET", 4) where s[0] == "v1" && s[1] == "accounts" && s[3] == "errors":
            return .ok(try await broker.recordedErrors(account: s[2]))
        case ("GET", 4) where s[0] == "v1" && s[1] == "accounts" && s[3] == "token":
            let token = try await broker.token(
                account: s[2],
                scopes: request.queryValues("scope").flatMap { $0.split(separator: " ").map(String.init) },
                minValid: try minValid(request), client: request.client)
            return .ok(AnswerDocuments.token(token, now: WallClock.now()))
        case ("GET", 4) where s[0] == "v1" && s[1] == "accounts" && s[3] == "header":
            if await broker.isActiveSyncAccount(s[2]) {
                let header = try await broker.activeSyncHeader(
                    account: s[2], minValid: try minValid(request), client: request.client)
                return .ok(AnswerDocuments.activeSyncHeader(header))
            }
            let auth = try await broker.authorization(
                account: s[2], url: try targetURL(request), minValid: try minValid(request), client: request.client)
            return .ok(AnswerDocuments.header(value: auth.value.reveal(), expiresAt: auth.expiresAt))
        case ("POST", 4) where s[0] == "v1" && s[1] == "accounts" && s[3] == "login":
            let events = try await broker.login(
                account: s[2], method: request.queryValue("method"), client: request.client)
            return .stream(events)
        case ("POST", 4) where s[0] == "v1" && s[1] == "accounts" && s[3] == "challenge":
            let body = try? JSONValue.parse(request.body)
            if let status = body?["activesync_status"] {
                guard let number = status.intValue, (100...999).contains(number) else {
                    throw LatchkeyError(.badRequest, "activesync_status must be a whole number such as 449 or 142.")
                }
                let header = try await broker.activeSyncChallenge(account: s[2], status: number, client: request.client)
                return .ok(AnswerDocuments.activeSyncHeader(header))
            }
            guard let value = body?["www_authenticate"]?.stringValue else {
                throw LatchkeyError(
                    .badRequest, "The body must be {\"www_authenticate\": \"…\"} or {\"activesync_status\": N}.")
            }
            let outcome = try await broker.reportChallenge(
                account: s[2], wwwAuthenticate: value, client: request.client)
            return .ok(
                .object([
                    ("account", .string(s[2])), ("action", .string(outcome.action)), ("state", .string(outcome.state)),
                    ("message", .string(outcome.message)),
                ]))
        case ("POST", 4) where s[0] == "v1" && s[1] == "logins" && s[3] == "answer":
            guard let body = try? JSONValue.parse(request.body), let list = body["answers"]?.arrayValue else {
                throw LatchkeyError(.badRequest, "The body must be {\"answers\": [\"…\"]}.")
            }
            let answers = list.compactMap(\.stringValue).map(Secret.init)
            guard answers.count == list.count else {
                throw LatchkeyError(.badRequest, "Every answer must be a string.")
            }
            try await broker.answer(login: s[2], answers: answers, client: request.client)
            return .ok(.object([("login_id", .string(s[2])), ("accepted", true)]))
        case ("GET", 1) where s == ["metrics"]:
            return .text(await broker.metricsText())
        case ("DELETE", 4) where s[0] == "v1" && s[1] == "accounts" && s[3] == "credentials":
            try await broker.logout(account: s[2], client: request.client)
            return .ok(.object([("account", .string(s[2])), ("state", "signed_out")]))
        case (_, _) where isKnownPath(s):
            throw LatchkeyError(
                .badRequest, "\(request.method) is not allowed on /\(s.joined(separator: "/")).",
                hint: "See the socket API in the README.")
        default:
            throw LatchkeyError(
                .badRequest, "There is no endpoint /\(s.joined(separator: "/")).",
                hint: "See the socket API in the README.")
        }
    }

    private func isKnownPath(_ s: [String]) -> Bool {
        s == ["v1", "health"] || s == ["v1", "accounts"] || s == ["metrics"] || (s.count == 4 && s[1] == "logins")
            || (s.count >= 3 && s[0] == "v1" && s[1] == "accounts")
    }

    /// `url=`: the service a header is for, read by the one URL reader (LatchkeyCore's
    /// `URLParts`); one it cannot read is the caller's mistake, answered 400 with the reason.
    private func targetURL(_ request: APIRequest) throws(LatchkeyError) -> String? {
        guard let raw = request.queryValue("url") else { return nil }
        do throws(URLProblem) {
            let parts = try URLParts(parsing: raw)
            guard parts.scheme == "https" || parts.scheme == "http" else {
                throw URLProblem("its scheme is not http or https")
            }
        } catch {
            throw LatchkeyError(
                .badRequest, "The url is not usable: \(error.reason).",
                hint: "Pass an http(s) URL such as url=https://mail.example.com/EWS/Exchange.asmx.")
        }
        return raw
    }

    private func minValid(_ request: APIRequest) throws(LatchkeyError) -> Double? {
        guard let raw = request.queryValue("min_valid") else { return nil }
        guard let seconds = CheckedNumber.number(raw), seconds >= 0, seconds <= 86_400 else {
            throw LatchkeyError(
                .badRequest, "min_valid must be a number of seconds from 0 to 86400.",
                hint: "For example min_valid=120.")
        }
        return seconds
    }
}
