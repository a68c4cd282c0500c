import LatchkeyCore
import LatchkeyHTTP
import LatchkeyOAuth
import LatchkeyStore
import Logging

extension Broker {
    /// `Basic base64(user:password)`: the last resort. The password comes from the store, and
    /// is only sent over https, or plain http to loopback.
    func basicAuthorization(_ name: String, url: String?, because kerberosFailure: LatchkeyError? = nil) async throws(LatchkeyError) -> (value: Secret<String>, expiresAt: Timestamp) {
        guard let config = accounts[name]?.config else { throw .unknownAccount(name) }
        try Self.checkBasicTransport(name, url ?? config.url)
        guard let user = config.username ?? config.email ?? config.principal else {
            throw LatchkeyError(.configuration, "'\(name)' has no user name for Basic authentication.", hint: "Set username in [accounts.\(name)].")
        }
        let generation = accounts[name]?.generation
        let password: Secret<String>?
        do {
            password = try await store.read(account: name, kind: .password)
        } catch {
            throw storeError(name, error)
        }
        guard let password else {
            if let kerberosFailure { throw kerberosFailure }
            throw LatchkeyError(.signinRequired, "There is no password for '\(name)'.", hint: "Run `latchkey login \(name)`.")
        }
        if let kerberosFailure {
            accounts[name]?.kerberos.failed("using the Basic fallback: \(kerberosFailure.message)")
            logger.warning("Kerberos cannot be used; falling back to Basic", metadata: ["account": "\(name)", "reason": "\(kerberosFailure.message)"])
        }
        let value = Secret("Basic " + Base64.encode(Array("\(user):\(password.reveal())".utf8)))
        let expires = clock() + 86_400
        // A Basic account with its password is signed in (after a restart too); a Kerberos
        // account falling back stays what its ticket says. Not when signed out meanwhile.
        if kerberosFailure == nil, accounts[name]?.generation == generation { accounts[name]?.kerberos.signedIn(expiresAt: expires) }
        return (value, expires)
    }

    /// Basic credentials travel only over https, or plain http to this machine.
    static func checkBasicTransport(_ name: String, _ url: String?) throws(LatchkeyError) {
        guard let url, let parts = URLParts(url) else {
            throw LatchkeyError(.configuration, "'\(name)' needs a url for Basic authentication.", hint: "Set url in [accounts.\(name)], or pass --url.")
        }
        if parts.scheme == "https" || (parts.scheme == "http" && parts.isLoopback) { return }
        throw LatchkeyError(.forbidden, "Latchkey refuses to send a Basic password over \(parts.scheme):// to \(parts.host): anyone on the path could read it.", hint: "Use an https:// url for [accounts.\(name)].")
    }

    /// Basic sign-in: asks for the password over the login stream, checks it against the
    /// service once, and keeps it in the store.
    func runBasicLogin(_ name: String, sessionID: String) async {
        guard let config = accounts[name]?.config, let session = sessions[sessionID] else { return }
        let relay = PromptRelay { [weak self] banner, prompts in
            guard let self else { return }
            self.work.start { await self.showBasicQuestion(sessionID: sessionID, banner: banner, prompts: prompts) }
        }
        session.relay = relay
        do throws(LatchkeyError) {
            try Self.checkBasicTransport(name, config.url)
            let user = config.username ?? config.email ?? config.principal ?? ""
            var banner: String? = nil
            for _ in 0..<3 {
                let asked = await askBlocking(relay, banner: banner, prompts: [("Password for \(user) at \(URLParts(config.url ?? "")?.host ?? "the service")", false)])
                guard let password = asked?.first else {
                    throw LatchkeyError(.signinRequired, "The sign-in for '\(name)' was cancelled.", hint: "Run `latchkey login \(name)` to try again.")
                }
                let header = "Basic " + Base64.encode(Array("\(user):\(password.reveal())".utf8))
                let response: HTTPResponse
                do {
                    response = try await oauth.http.send(HTTPRequest(url: config.url ?? "", headers: [("Authorization", header)]), options: httpOptions(config))
                } catch {
                    throw LatchkeyError(.providerUnavailable, "Cannot check the password with \(URLParts(config.url ?? "")?.host ?? "the service"): \(error.message)", hint: "Check the url and the network, then run `latchkey login \(name)` again.")
                }
                if response.status == 401 {
                    banner = "The service refused that password (HTTP 401). Try again."
                    continue
                }
                let now = clock()
                let committed = await commitSignIn(name, session, writes: [(.password, password)]) { account in
                    account.kerberos.signedIn(expiresAt: now + 86_400)
                    account.lastRefresh = now
                }
                guard committed else {
                    throw Self.signedOutDuringSignIn(name)
                }
                logger.info("signed in", metadata: ["account": "\(name)", "flow": "basic", "status": "\(response.status)"])
                endLogin(name, session, .done(account: name, expiresAt: clock() + 86_400))
                return
            }
            throw LatchkeyError(.signinRequired, "The service refused the password for '\(name)' three times.", hint: "Check the user name and password, then run `latchkey login \(name)` again.")
        } catch {
            logger.warning("sign-in failed", metadata: ["account": "\(name)", "flow": "basic", "error": "\(error.message)"])
            endLogin(name, session, .error(error))
        }
    }

    private func askBlocking(_ relay: PromptRelay, banner: String?, prompts: [(text: String, echo: Bool)]) async -> [Secret<String>]? {
        await withCheckedContinuation { continuation in
            kerberosQueue().async { continuation.resume(returning: relay.ask(banner: banner, prompts: prompts)) }
        }
    }

    private func showBasicQuestion(sessionID: String, banner: String?, prompts: [(text: String, echo: Bool)]) {
        guard let session = sessions[sessionID] else { return }
        emit(.question(.init(loginID: sessionID, banner: banner, prompts: prompts)), session)
    }
}
