import LatchkeyCore
import LatchkeyGSS
import Synchronization

/// The Kerberos method for one account: which service a header is for, what a failure of
/// libkrb5 or GSSAPI means to the person, the prompters that answer libkrb5's questions (from
/// the person over the login stream, or from the remembered password), and the library calls
/// themselves, off the pool (KerberosFlow+Calls.swift). The broker routes to it
/// (`Broker+Kerberos.swift`, `Broker+KerberosLogin.swift`) and hands what it returns to the
/// account's `TicketMachine`, whose decisions (TicketMachine+Decisions.swift) it carries out; a
/// sign-in ends through the one `commitSignIn`, so a logout during it stays a logout.
///
/// A value made per call from the account's current configuration; it holds no state.
struct KerberosFlow: Sendable {
    let name: String
    let config: AccountConfig

    /// The service principal (`HTTP@host`) a header for `url` (else the account's url) is for,
    /// unless the account names one (`service`).
    func servicePrincipal(url: String?) throws(LatchkeyError) -> String {
        if let service = config.service { return service }
        guard let target = url ?? config.url, let host = URLParts(target)?.host else {
            throw LatchkeyError(
                .configuration, "Latchkey cannot tell which service '\(name)' is for.",
                hint: "Pass --url URL, or set url (or service = \"HTTP@host\") in [accounts.\(name)].")
        }
        return "HTTP@" + host
    }

    /// A Kerberos failure in the person's words, with the library's words kept, and whether
    /// only a sign-in helps (the account's machine then says `signin_required`).
    func failure(_ error: KerberosError, service: String?) -> (error: LatchkeyError, signInRequired: Bool) {
        switch error.kind {
        case .noCredentials, .expired:
            return (
                LatchkeyError(
                    .signinRequired, "No usable Kerberos credentials for '\(name)': \(error.message)",
                    hint: "Run `latchkey login \(name)` (or kinit)."), true
            )
        case .kdcUnreachable:
            return (
                LatchkeyError(
                    .providerUnavailable, "Cannot reach the KDC: \(error.message)",
                    hint: "Check the network, VPN and the KDC; Latchkey tries again on the next request.",
                    retryAfter: 30), false
            )
        case .unknownServer:
            return (
                LatchkeyError(
                    .configuration, "The KDC does not know the service \(service ?? "asked for"): \(error.message)",
                    hint: "Check the url (or service) of [accounts.\(name)]: the SPN must match the server's keytab."),
                false
            )
        case .clockSkew:
            return (
                LatchkeyError(
                    .configuration, "The clocks of this machine and the KDC differ too much: \(error.message)",
                    hint: "Synchronise the clock (timedatectl set-ntp true)."), false
            )
        case .wrongPassword, .passwordRejected, .cancelled:
            return (
                LatchkeyError(
                    .signinRequired, "Signing in to '\(name)' failed: \(error.message)",
                    hint: "Run `latchkey login \(name)` again."), false
            )
        case .other:
            return (
                LatchkeyError(
                    .providerUnavailable, "Kerberos failed for '\(name)': \(error.message)",
                    hint: "Try again; if it persists, run `latchkey diagnose \(name)`.", retryAfter: 30), false
            )
        }
    }
}

/// Answers only the password prompt, from the store; anything else (an expired password, an
/// OTP) needs the person, so it cancels.
struct RememberedPasswordOnly: KerberosPrompter {
    func answer(banner: String?, prompts: [KerberosPrompt]) -> [Secret<String>]? { nil }
}

/// Relays libkrb5's prompts to the person over the login stream; keeps the first password
/// typed, for `remember_password`.
final class RelayPrompter: KerberosPrompter {
    let relay: PromptRelay
    private let typedPassword = Mutex<Secret<String>?>(nil)

    init(relay: PromptRelay) {
        self.relay = relay
    }

    var password: Secret<String>? { typedPassword.withLock { $0 } }

    func answer(banner: String?, prompts: [KerberosPrompt]) -> [Secret<String>]? {
        guard let answers = relay.ask(banner: banner, prompts: prompts.map { ($0.text, !$0.hidden) }),
            answers.count == prompts.count
        else {
            return nil
        }
        for (prompt, answer) in zip(prompts, answers) where prompt.kind == .password {
            typedPassword.withLock { if $0 == nil { $0 = answer } }
        }
        // A changed password replaces the one to remember.
        for (prompt, answer) in zip(prompts, answers) where prompt.kind == .newPassword {
            typedPassword.withLock { $0 = answer }
        }
        return answers
    }
}
