import LatchkeyCore
import LatchkeyGSS
import LatchkeyStore
import Logging

extension Broker {
    /// Kerberos sign-in: a TGT from the password through libkrb5, every prompt (password,
    /// expired-password change, OTP) relayed to the person over the login stream.
    func runKerberosLogin(_ name: String, sessionID: String) async {
        guard let config = accounts[name]?.config, let session = sessions[sessionID] else { return }
        guard let principal = config.principal else {
            endLogin(
                name, session,
                .error(
                    LatchkeyError(
                        .configuration, "'\(name)' has no principal to sign in as.",
                        hint: "Set principal = \"user@REALM\" in [accounts.\(name)].")))
            return
        }
        let relay = PromptRelay { [weak self] banner, prompts in
            guard let self else { return }
            self.work.start { await self.showQuestion(name, sessionID: sessionID, banner: banner, prompts: prompts) }
        }
        session.relay = relay
        let prompter = RelayPrompter(relay: relay)
        let clock = self.clock
        switch await kerberosFlow(name, config).signIn(principal: principal, prompter: prompter, now: clock) {
        case .success(let signedIn):
            let remembered = config.rememberPassword ? prompter.password : nil
            let life = Self.kerberosSignInSession(now: clock(), passwordExpiresAt: signedIn.report.passwordExpiresAt)
            var writes: [(kind: ItemKind, value: Secret<String>)] = remembered.map { [(.password, $0)] } ?? []
            writes.append((.session, Secret(life.json.encoded)))
            let committed = await commitSignIn(name, session, writes: writes) { account in
                account.kerberos.signedIn(
                    expiresAt: signedIn.expiresAt, renewTill: signedIn.renewTill,
                    passwordExpiresAt: signedIn.report.passwordExpiresAt)
                account.session = life
                account.lastRefresh = life.signedInAt
            }
            guard committed else { return endLogin(name, session, .error(Self.signedOutDuringSignIn(name))) }
            logger.info("signed in", metadata: ["account": "\(name)", "flow": "kerberos", "principal": "\(principal)"])
            endLogin(name, session, .done(account: name, expiresAt: signedIn.expiresAt))
        case .failure(let error):
            let mapped =
                error.kind == .cancelled
                ? LatchkeyError(
                    .signinRequired, "The sign-in for '\(name)' was cancelled.",
                    hint: "Run `latchkey login \(name)` to try again.")
                : kerberosError(name, error, service: nil)
            logger.warning(
                "sign-in failed", metadata: ["account": "\(name)", "flow": "kerberos", "error": "\(error.message)"])
            endLogin(name, session, .error(mapped))
        }
    }

    private func showQuestion(_ name: String, sessionID: String, banner: String?, prompts: [(text: String, echo: Bool)])
    {
        guard let session = sessions[sessionID] else { return }
        emit(.question(.init(loginID: sessionID, banner: banner, prompts: prompts)), session)
    }
}
