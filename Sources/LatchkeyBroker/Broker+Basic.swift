import LatchkeyBlocking
import LatchkeyCore
import LatchkeyHTTP
import LatchkeyOAuth
import LatchkeyStore
import Logging

extension Broker {
    /// The Basic flow of an account, over its current configuration.
    func basicFlow(_ name: String, _ config: AccountConfig) -> BasicFlow {
        BasicFlow(name: name, config: config, http: oauth.http, options: httpOptions(config))
    }

    /// The Basic header for a client: the password comes from the store. A Kerberos account
    /// falls back here (`because` its Kerberos failure) when `fallback = ["basic"]`.
    func basicAuthorization(_ name: String, url: String?, because kerberosFailure: LatchkeyError? = nil)
        async throws(LatchkeyError) -> (value: Secret<String>, expiresAt: Timestamp)
    {
        guard let config = accounts[name]?.config else { throw .unknownAccount(name) }
        let flow = basicFlow(name, config)
        let user = try flow.user(for: url)
        let generation = accounts[name]?.generation
        let password: Secret<String>?
        do {
            password = try await store.read(account: name, kind: .password)
        } catch {
            throw storeError(name, error)
        }
        guard let password else { throw kerberosFailure ?? flow.noPassword }
        if let kerberosFailure {
            accounts[name]?.kerberos.failed("using the Basic fallback: \(kerberosFailure.message)")
            logger.warning(
                "Kerberos cannot be used; falling back to Basic",
                metadata: ["account": "\(name)", "reason": "\(kerberosFailure.message)"])
        }
        // A Basic account with its password is signed in (after a restart too); a Kerberos
        // account falling back stays what its ticket says. Not when signed out meanwhile.
        let now = clock()
        var expires = now + BasicFlow.validity
        if kerberosFailure == nil, let generation, let current = accounts[name]?.generation {
            expires =
                accounts[name]?.basic.passwordUsed(readUnder: generation, generation: current, now: now) ?? expires
        }
        return (BasicFlow.header(user: user, password: password), expires)
    }

    /// Basic sign-in: asks for the password over the login stream, checks it against the
    /// service once, and keeps it in the store.
    func runBasicLogin(_ name: String, sessionID: String) async {
        guard let config = accounts[name]?.config, let session = sessions[sessionID] else { return }
        let flow = basicFlow(name, config)
        let relay = PromptRelay { [weak self] banner, prompts in
            guard let self else { return }
            self.work.start { await self.showBasicQuestion(sessionID: sessionID, banner: banner, prompts: prompts) }
        }
        session.relay = relay
        do throws(LatchkeyError) {
            try BasicFlow.checkTransport(name, config.url)
            var banner: String? = nil
            for _ in 0..<BasicFlow.attempts {
                let asked = await askBlocking(relay, banner: banner, prompts: [flow.passwordPrompt])
                guard let password = asked?.first else { throw flow.cancelled }
                guard case .accepted(let status) = try await flow.check(password) else {
                    banner = "The service refused that password (HTTP 401). Try again."
                    continue
                }
                let now = clock()
                let committed = await commitSignIn(name, session, writes: [(.password, password)]) { account in
                    account.basic.signedIn(now: now)
                }
                guard committed else {
                    throw Self.signedOutDuringSignIn(name)
                }
                logger.info("signed in", metadata: ["account": "\(name)", "flow": "basic", "status": "\(status)"])
                endLogin(name, session, .done(account: name, expiresAt: clock() + BasicFlow.validity))
                return
            }
            throw flow.refusedEveryTime
        } catch {
            logger.warning(
                "sign-in failed", metadata: ["account": "\(name)", "flow": "basic", "error": "\(error.message)"])
            endLogin(name, session, .error(error))
        }
    }

    private func askBlocking(_ relay: PromptRelay, banner: String?, prompts: [(text: String, echo: Bool)]) async
        -> [Secret<String>]?
    {
        await Blocking.run { relay.ask(banner: banner, prompts: prompts) }
    }

    private func showBasicQuestion(sessionID: String, banner: String?, prompts: [(text: String, echo: Bool)]) {
        guard let session = sessions[sessionID] else { return }
        emit(.question(.init(loginID: sessionID, banner: banner, prompts: prompts)), session)
    }
}
