import LatchkeyCore

/// One event of the login stream (SPEC.md §4): newline-delimited JSON on the socket.
public enum LoginEvent: Sendable, Equatable {
    /// A device code for the person: where to go and what to enter.
    case devicePrompt(DevicePrompt)
    /// A page to open in a browser (authorization code + PKCE): the loopback listener's start
    /// page, which sends the browser on to the provider; it comes back to `redirectURI`.
    case browserPrompt(BrowserPrompt)
    /// Questions for the person (a Kerberos password, an expired-password change, an OTP):
    /// answered with `POST /v1/logins/{loginID}/answer`. A banner is shown before them.
    case question(Question)
    /// The provider was asked and the person has not finished yet.
    case waiting(secondsLeft: Int)
    case done(account: String, expiresAt: Timestamp)
    case error(LatchkeyError)

    public struct DevicePrompt: Sendable, Equatable {
        public var verificationURI: String
        public var verificationURIComplete: String?
        public var userCode: String
        public var expiresIn: Int
        public var message: String?
    }

    public struct BrowserPrompt: Sendable, Equatable {
        /// The loopback listener's one-time start page, which redirects to the provider (the
        /// authorization URL with `state` and the PKCE challenge never leaves the daemon).
        public var startURL: String
        public var redirectURI: String
        public var expiresIn: Int
    }

    public struct Question: Sendable, Equatable {
        public var loginID: String
        public var banner: String?
        /// Each prompt's text and whether the answer may be shown while typed.
        public var prompts: [(text: String, echo: Bool)]

        public static func == (a: Question, b: Question) -> Bool {
            a.loginID == b.loginID && a.banner == b.banner && a.prompts.map(\.text) == b.prompts.map(\.text)
                && a.prompts.map(\.echo) == b.prompts.map(\.echo)
        }
    }

    public var isFinal: Bool {
        switch self {
        case .done, .error: true
        default: false
        }
    }

    /// One line of the stream, without the newline.
    public var json: JSONValue {
        switch self {
        case .devicePrompt(let p):
            var members: [(String, JSONValue)] = [
                ("event", "prompt"), ("kind", "device_code"), ("verification_uri", .string(p.verificationURI)),
                ("user_code", .string(p.userCode)), ("expires_in", .number(Double(p.expiresIn))),
            ]
            if let complete = p.verificationURIComplete {
                members.append(("verification_uri_complete", .string(complete)))
            }
            if let message = p.message { members.append(("message", .string(message))) }
            return .object(members)
        case .browserPrompt(let p):
            return .object([
                ("event", "prompt"), ("kind", "browser"), ("start_url", .string(p.startURL)),
                ("redirect_uri", .string(p.redirectURI)), ("expires_in", .number(Double(p.expiresIn))),
            ])
        case .question(let q):
            var members: [(String, JSONValue)] = [
                ("event", "prompt"), ("kind", "question"), ("login_id", .string(q.loginID)),
            ]
            if let banner = q.banner { members.append(("banner", .string(banner))) }
            members.append(
                ("prompts", .array(q.prompts.map { .object([("text", .string($0.text)), ("echo", .bool($0.echo))]) })))
            return .object(members)
        case .waiting(let left):
            return .object([("event", "waiting"), ("expires_in", .number(Double(left)))])
        case .done(let account, let expiresAt):
            return .object([
                ("event", "done"), ("account", .string(account)),
                ("expires_at", .number(Double(expiresAt.unixSeconds))),
            ])
        case .error(let error):
            guard case .object(let members) = error.json else { return error.json }
            return .object([("event", "error")] + members)
        }
    }
}
