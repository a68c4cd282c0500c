import LatchkeyCore
import LatchkeyStore
import Logging

/// A Kerberos account's session record (issue 18): what the forecast needs that the ticket
/// cache does not keep — the password expiry the KDC reports only at sign-in, and the deadline
/// the person was warned of — stored as an item of its own (`ItemKind.session`), so a restarted
/// daemon forecasts the same deadline and does not warn twice. An OAuth account keeps the same
/// `SessionLife` inside its access token's item (Broker+Session.swift).
extension Broker {
    /// The record as stored: the account's `SessionLife` with the ticket machine's password expiry.
    func kerberosSessionRecord(_ name: String) -> Secret<String>? {
        guard let account = accounts[name] else { return nil }
        var session = account.session
        session.passwordExpiresAt = account.kerberos.passwordExpiresAt
        return Secret(session.json.encoded)
    }

    /// The session of a Kerberos sign-in that just brought a ticket.
    static func kerberosSignInSession(now: Timestamp, passwordExpiresAt: Timestamp?) -> SessionLife {
        var session = SessionLife()
        session.signedInAt = now
        session.passwordExpiresAt = passwordExpiresAt
        return session
    }

    /// Start-up: reads the record back. A store that cannot be read now leaves the forecast to
    /// what the ticket cache tells (its renew-till) until the next sign-in.
    func restoreKerberosSession(_ name: String) async {
        guard accounts[name]?.config.method == .kerberos else { return }
        do {
            guard let stored = try await store.read(account: name, kind: .session) else { return }
            let session = SessionLife(json: try? JSONValue.parse(stored.reveal()))
            guard accounts[name]?.login == nil, accounts[name]?.kerberos.signedOutByPerson == false else { return }
            accounts[name]?.session = session
            accounts[name]?.kerberos.passwordExpiryReported(session.passwordExpiresAt)
        } catch {
            logger.warning(
                "could not read the stored session record",
                metadata: ["account": "\(name)", "store": "\(store.name)", "error": "\(error.message)"])
        }
    }

    /// Stores the record now (a warning went out, a remembered password brought a new expiry).
    /// A sign-out during the write takes it back out; a sign-in during it writes its own.
    func storeKerberosSession(_ name: String) async {
        guard let account = accounts[name], !account.kerberos.signedOutByPerson, account.login == nil,
            let record = kerberosSessionRecord(name)
        else { return }
        let generation = account.generation
        await persist(name, .session, record)
        guard let after = accounts[name], after.generation != generation, after.kerberos.signedOutByPerson,
            after.login == nil
        else { return }
        await removeStoredDuringSignOut(name, .session)
    }
}
