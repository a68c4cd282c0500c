import LatchkeyCore
import LatchkeyOAuth
import LatchkeyStore
import Logging

extension Broker {
    /// An interactive sign-in: the session starts (at the ID token's `auth_time` when it has one).
    static func signInSession(idToken: Secret<String>?, now: Timestamp) -> SessionLife {
        var session = SessionLife()
        if let authTime = idToken.flatMap({ SessionLife.authTime(idToken: $0.reveal()) }), authTime <= now + 300 {
            session.signedInAt = authTime
            session.signedInFromAuthTime = true
        } else {
            session.signedInAt = now
        }
        session.refreshUsedAt = now
        session.refreshRotatedAt = now
        return session
    }

    /// A refresh succeeded: the refresh token was used (and, if a new one came, rotated).
    func noteRefresh(_ name: String, rotated: Bool, now: Timestamp) {
        accounts[name]?.session.refreshUsedAt = now
        if rotated { accounts[name]?.session.refreshRotatedAt = now }
    }

    /// A refresh failed: a sign-in-frequency error that states the session's lifetime teaches it.
    func noteRefreshFailure(_ name: String, message: String) {
        guard let lifetime = SessionLife.statedLifetime(in: message) else { return }
        accounts[name]?.session.learntLifetime = lifetime
        logger.info(
            "learnt the session's maximum lifetime from the provider",
            metadata: [
                "account": "\(name)", "lifetime": "\(SessionLife.describe(lifetime))",
            ])
    }

    /// When a new interactive sign-in will be needed for an OAuth or Kerberos account, and why;
    /// nil: unknown.
    func signinForecast(_ name: String) -> SessionLife.Forecast? {
        guard let account = accounts[name] else { return nil }
        if account.config.method == .kerberos {
            return account.kerberos.forecast(remembersPassword: account.config.rememberPassword)
        }
        guard account.config.method == .oauth, account.machine.hasRefreshToken else { return nil }
        return account.session.forecast(
            sessionLifetime: account.config.sessionLifetime, inactivityLimit: account.config.knownInactivityLimit,
            keepaliveInterval: settings.keepaliveInterval)
    }

    /// The scheduler's part for forecasts: tells the person once, `signin_warning` ahead of
    /// each known deadline, and stores that it did (a restart does not tell again); returns
    /// when the next warning is due.
    func warnOfSignins() async -> Timestamp? {
        let now = clock()
        var next: Timestamp?
        for name in order {
            guard let forecast = signinForecast(name), accounts[name]?.session.hasWarned(of: forecast.by) == false
            else {
                continue
            }
            let warnAt = forecast.by + -settings.signinWarning
            if warnAt > now {
                next = min(next ?? warnAt, warnAt)
                continue
            }
            accounts[name]?.session.warnedFor = forecast.by
            let notifier = self.notifier
            let body =
                "A new sign-in to '\(name)' will be needed by \(forecast.by): \(forecast.reason). Run: latchkey login \(name)"
            work.start { await notifier.notify(summary: "Latchkey: sign in to '\(name)' soon", body: body) }
            logger.info("notified: sign-in needed soon", metadata: ["account": "\(name)", "by": "\(forecast.by)"])
            await storeSession(name)
        }
        return next
    }

    /// Stores the session's life now, with the access token it travels with, rather than at the
    /// next token write. A refresh under way stores it with its new token instead. A sign-out
    /// during the write takes the token back out; a sign-in during it writes its own afterwards.
    func storeSession(_ name: String) async {
        if accounts[name]?.config.method == .kerberos { return await storeKerberosSession(name) }
        guard let account = accounts[name], let token = account.machine.token, !account.machine.refreshInFlight else {
            return
        }
        let generation = account.generation
        await persist(name, .accessToken, StoredAccessToken.encode(token, session: account.session))
        guard let after = accounts[name], after.generation != generation, !after.machine.hasRefreshToken,
            after.login == nil
        else { return }
        await removeStoredDuringSignOut(name, .accessToken)
    }

    /// Takes back an item that a write stored while a sign-out ran (from memory too, where a
    /// failed write waits to be retried).
    func removeStoredDuringSignOut(_ name: String, _ kind: ItemKind) async {
        accounts[name]?.pendingWrites[kind] = nil
        do {
            try await store.delete(account: name, kind: kind)
        } catch {
            logger.error(
                "could not remove the \(kind.label) stored while the account was signed out",
                metadata: [
                    "account": "\(name)", "store": "\(store.name)", "error": "\(error.message)",
                ])
        }
    }

    /// `/metrics`: seconds until a new sign-in is needed, per account where known.
    func signinMetrics() -> String {
        let now = clock()
        var out =
            "# HELP latchkey_signin_needed_seconds Seconds until a new interactive sign-in is needed (accounts where known).\n"
        out += "# TYPE latchkey_signin_needed_seconds gauge\n"
        for name in order {
            guard let forecast = signinForecast(name) else { continue }
            out +=
                "latchkey_signin_needed_seconds{account=\"\(Self.labelValue(name))\"} \(BrokerMetrics.number((forecast.by - now).rounded()))\n"
        }
        return out
    }

    /// A Prometheus label value: backslash, quote and newline escaped.
    static func labelValue(_ s: String) -> String {
        var out = ""
        for c in s {
            switch c {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.append(c)
            }
        }
        return out
    }
}
