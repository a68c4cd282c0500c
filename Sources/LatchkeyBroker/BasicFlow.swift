import LatchkeyCore
import LatchkeyHTTP

/// The Basic method for one account: who signs in, where a password may go, the header it
/// makes, the question the person is asked and the check of a typed password against the
/// service. What outlives a call is the account's `BasicAccountState` (below), which the
/// broker keeps as `Account.basic`; the password lives only in the store. The broker routes
/// to both (`Broker+Basic.swift`); a sign-in still ends through the broker's one
/// `commitSignIn`, so a logout while the password is checked or stored stays a logout.
///
/// A value made per request from the account's current configuration: it holds no state of
/// its own, so a reload never meets a stale flow.
struct BasicFlow: Sendable {
    let name: String
    let config: AccountConfig
    let http: HTTPClient
    let options: HTTPOptions

    /// How long a Basic header or sign-in counts as valid (a password does not expire as far
    /// as Latchkey can tell; the account is looked at again after a day).
    static let validity: Double = 86_400

    /// How often the person may type a password the service refuses in one sign-in.
    static let attempts = 3

    /// The user the password belongs to.
    var user: String? { config.username ?? config.email ?? config.principal }

    /// The user a header for `url` (else the account's url) is made for, once the url is one
    /// a password may go to (`checkTransport`).
    func user(for url: String?) throws(LatchkeyError) -> String {
        try Self.checkTransport(name, url ?? config.url)
        guard let user else {
            throw LatchkeyError(
                .configuration, "'\(name)' has no user name for Basic authentication.",
                hint: "Set username in [accounts.\(name)].")
        }
        return user
    }

    /// `Basic base64(user:password)`: the last resort.
    static func header(user: String, password: Secret<String>) -> Secret<String> {
        Secret("Basic " + Base64.encode(Array("\(user):\(password.reveal())".utf8)))
    }

    /// Basic credentials travel only over https, or plain http to this machine.
    static func checkTransport(_ name: String, _ url: String?) throws(LatchkeyError) {
        guard let url, let parts = URLParts(url) else {
            throw LatchkeyError(
                .configuration, "'\(name)' needs a url for Basic authentication.",
                hint: "Set url in [accounts.\(name)], or pass --url.")
        }
        if parts.scheme == "https" || (parts.scheme == "http" && parts.isLoopback) { return }
        throw LatchkeyError(
            .forbidden,
            "Latchkey refuses to send a Basic password over \(parts.scheme):// to \(parts.host): anyone on the path could read it.",
            hint: "Use an https:// url for [accounts.\(name)].")
    }

    /// The question a sign-in asks, with no echo.
    var passwordPrompt: (text: String, echo: Bool) {
        ("Password for \(user ?? "") at \(URLParts(config.url ?? "")?.host ?? "the service")", false)
    }

    /// What the service said to a typed password.
    enum Check: Equatable {
        /// Any answer but 401: the service took it (its status, for the log).
        case accepted(status: Int)
        /// HTTP 401: ask again.
        case refused
    }

    /// Sends one request with the typed password to the account's url.
    func check(_ password: Secret<String>) async throws(LatchkeyError) -> Check {
        try Self.checkTransport(name, config.url)
        let header = Self.header(user: user ?? "", password: password)
        let response: HTTPResponse
        do {
            response = try await http.send(
                HTTPRequest(url: config.url ?? "", headers: [("Authorization", header.reveal())]), options: options)
        } catch {
            throw LatchkeyError(
                .providerUnavailable,
                "Cannot check the password with \(URLParts(config.url ?? "")?.host ?? "the service"): \(error.message)",
                hint: "Check the url and the network, then run `latchkey login \(name)` again.")
        }
        return response.status == 401 ? .refused : .accepted(status: response.status)
    }

    /// Why a sign-in ended without a password.
    var cancelled: LatchkeyError {
        LatchkeyError(
            .signinRequired, "The sign-in for '\(name)' was cancelled.",
            hint: "Run `latchkey login \(name)` to try again.")
    }

    var refusedEveryTime: LatchkeyError {
        LatchkeyError(
            .signinRequired, "The service refused the password for '\(name)' three times.",
            hint: "Check the user name and password, then run `latchkey login \(name)` again.")
    }

    var noPassword: LatchkeyError {
        LatchkeyError(.signinRequired, "There is no password for '\(name)'.", hint: "Run `latchkey login \(name)`.")
    }
}

/// What a Basic account is between calls, as `status` shows it: signed in (a password checked
/// by a sign-in, or a header made with the stored one) until `expiresAt`, or signed out. The
/// password itself lives only in the store. Owned by the Basic side (`BasicFlow`): the broker
/// keeps it as `Account.basic` and changes it only through these events.
///
/// A pure value in `TokenMachine`'s style: `now` and the account's generation are handed in.
struct BasicAccountState: Sendable, Equatable {
    private(set) var state: TokenMachine.State = .signedOut
    private(set) var expiresAt: Timestamp?
    /// When the last sign-in checked a password (`status`'s last refresh).
    private(set) var lastSignIn: Timestamp?

    /// A sign-in checked the password at `now` and committed it.
    mutating func signedIn(now: Timestamp) {
        state = .valid
        expiresAt = now + BasicFlow.validity
        lastSignIn = now
    }

    /// A header was made at `now` with the stored password, read while the account had
    /// generation `readUnder`: the account is signed in (after a restart too), unless a sign-out
    /// or a sign-in since (`generation` differs) made the read stale; then nothing changes.
    /// Returns how long the header counts as valid.
    mutating func passwordUsed(readUnder: Int, generation: Int, now: Timestamp) -> Timestamp {
        let expires = now + BasicFlow.validity
        guard readUnder == generation else { return expires }
        state = .valid
        expiresAt = expires
        return expires
    }

    /// A sign-out: nothing is known any more.
    mutating func signedOut() {
        self = BasicAccountState()
    }
}
