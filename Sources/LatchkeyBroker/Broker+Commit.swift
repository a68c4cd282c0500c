import LatchkeyCore
import LatchkeyStore
import Logging

extension Broker {
    /// The one way a sign-in ends in "signed in", for every method. It writes the sign-in's
    /// secrets to the store, checking after every await that the session is still the
    /// account's running sign-in, then applies `commit` to the account with no await between
    /// that last check and the change. A logout (or a reload that removed or changed the
    /// account) during the writes makes the sign-in stale: it takes back what it wrote and
    /// returns false, so a logout stays a logout.
    func commitSignIn(
        _ name: String, _ session: LoginSession, writes: [(kind: ItemKind, value: Secret<String>)],
        commit: (inout Account) -> Void
    ) async -> Bool {
        guard accounts[name]?.login === session else { return false }
        // A refresh still running from before this sign-in must not store over its secrets.
        accounts[name]?.generation = nextGeneration()
        let started = lastGeneration
        accounts[name]?.signInGeneration = started
        await PausePoint.hit("signin.commit")
        var written: [(kind: ItemKind, value: Secret<String>)] = []
        for item in writes {
            guard accounts[name]?.login === session else { break }
            await persist(name, item.kind, item.value)
            written.append(item)
        }
        guard accounts[name]?.login === session, accounts[name] != nil else {
            await takeBack(name, written, since: started)
            handOverRefreshWaiters(name, committed: false)
            return false
        }
        commit(&accounts[name]!)
        // Work that started while the writes ran began from the state before this sign-in: it
        // is stale too. The store holds this sign-in's secrets (`signInGeneration`).
        accounts[name]?.generation = nextGeneration()
        accounts[name]?.signInGeneration = lastGeneration
        accounts[name]?.lastSignIn = nextGeneration()
        handOverRefreshWaiters(name, committed: true)
        return true
    }

    /// Requests that wait on a refresh this sign-in made stale (it moved the generation when it
    /// began to commit) get the sign-in's token, or, for other scope sets or when it did not
    /// commit after all, an answer to try again; the stale refresh, when it ends, wakes nobody.
    /// (A sign-out that overtook the sign-in answered them already.)
    private func handOverRefreshWaiters(_ name: String, committed: Bool) {
        let again = LatchkeyError(
            .providerUnavailable, "'\(name)' was signed in again while its token was being refreshed.",
            hint: "Try again.", retryAfter: 1)
        if committed, let token = accounts[name]?.oauth.machine.servableToken {
            refreshes.finish(RefreshKey(account: name), .success(token))
        }
        if !committed { accounts[name]?.oauth.staleRefreshesDropped(message: again.message, now: clock()) }
        refreshes.finishAll(where: { $0.account == name }, .failure(again))
    }

    /// Removes what a stale sign-in wrote, from memory (a failed write waiting to be retried)
    /// and from the store, unless a newer sign-in has committed since: its secrets stay.
    private func takeBack(_ name: String, _ written: [(kind: ItemKind, value: Secret<String>)], since started: Int)
        async
    {
        for item in written where accounts[name]?.pendingWrites[item.kind] == item.value {
            accounts[name]?.pendingWrites[item.kind] = nil
        }
        if let account = accounts[name], account.lastSignIn > started { return }
        for item in written {
            do {
                try await store.delete(account: name, kind: item.kind)
            } catch {
                logger.error(
                    "could not remove a credential written by a sign-in that a sign-out overtook",
                    metadata: [
                        "account": "\(name)", "item": "\(item.kind.label)", "store": "\(store.name)",
                        "error": "\(error.message)",
                    ])
            }
        }
        if !written.isEmpty {
            logger.info("sign-in overtaken by a sign-out: what it stored was removed", metadata: ["account": "\(name)"])
        }
    }

    /// The error a stale sign-in ends with.
    static func signedOutDuringSignIn(_ name: String) -> LatchkeyError {
        .signinRequired(name, "'\(name)' was signed out during the sign-in.")
    }
}

extension Broker {
    /// Signs the account out: forgets every secret in memory and in the store. The
    /// account's `allowed_clients` are enforced against `client`.
    public func logout(account name: String, client: ClientIdentity? = nil) async throws(LatchkeyError) {
        guard let config = accounts[name]?.config else { throw .unknownAccount(name) }
        try authorize(name, config, client)
        accounts[name]?.login?.cancel()
        accounts[name]?.login = nil
        accounts[name]?.generation = nextGeneration()
        accounts[name]?.pendingWrites = [:]
        accounts[name]?.kerberos.signedOut()
        accounts[name]?.basic.signedOut()
        accounts[name]?.oauth.signedOut()
        failAllWaiters(name, .failWaiters(.signinRequired(name, "'\(name)' was signed out.")))
        activeSync[name] = nil  // the DeviceId and policy key leave with the credentials
        do {
            try await store.deleteAll(account: name)
        } catch {
            var failure = storeError(name, error)
            failure.message =
                "Signed out in memory, but the credentials of '\(name)' could not be removed from the \(store.name) store: \(error.message)"
            failure.hint = "Fix the store, then run `latchkey logout \(name)` again."
            throw failure
        }
        accounts[name]?.needsRestore = false
        accounts[name]?.storeError = nil
        logger.info("signed out", metadata: ["account": "\(name)"])
    }
}
