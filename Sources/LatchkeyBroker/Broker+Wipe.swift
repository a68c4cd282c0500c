import LatchkeyActiveSync
import LatchkeyCore

extension Broker {
    /// An ActiveSync server ordered a remote wipe (acknowledged already): every secret of this
    /// account leaves every store tier and memory (as `logout` does), the account answers
    /// `wiped` until a new sign-in, and the person is told. Nothing outside the account is
    /// touched: no other account, no file of the person's, no mail a sync tool keeps.
    func wipeActiveSyncAccount(_ name: String, kind: WipeKind, acknowledged: Bool, client: ClientIdentity?) async {
        var failure: String?
        do {
            try await logout(account: name, client: client)
        } catch {
            failure = error.message
        }
        activeSync[name] = ActiveSyncSession(wiped: kind, lastError: failure)
        logger.warning(
            "ActiveSync remote wipe: the account's credentials were erased",
            metadata: [
                "account": "\(name)", "wipe": "\(kind.rawValue)", "acknowledged": "\(acknowledged)",
                "erased": "\(failure == nil ? "all" : "memory only: \(failure ?? "")")",
            ])
        let notifier = self.notifier
        let body =
            "The ActiveSync server ordered a \(kind == .accountOnly ? "account-only " : "")remote wipe. "
            + "Latchkey erased the account's credentials"
            + (failure == nil ? "." : " from memory, but the store failed: \(failure ?? "").")
            + " To use it again: latchkey login \(name)"
        work.start { await notifier.notify(summary: "Latchkey: '\(name)' was wiped", body: body) }
    }
}
