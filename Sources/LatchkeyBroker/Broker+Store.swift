import LatchkeyCore
import LatchkeyHTTP
import LatchkeyOAuth
import LatchkeyStore
import Logging

extension Broker {

    /// Tells the person, once, that the account needs a sign-in (rate limited: at most one
    /// notification per account every 10 minutes).
    func signInNeeded(_ name: String, because why: String) {
        let now = clock()
        if let last = accounts[name]?.notifiedAt, now - last < 600 { return }
        accounts[name]?.notifiedAt = now
        let notifier = self.notifier
        work.start {
            await notifier.notify(
                summary: "Latchkey: sign in to '\(name)' again", body: "\(why) Run: latchkey login \(name)")
        }
        logger.info("notified: sign-in needed", metadata: ["account": "\(name)"])
    }

    func httpOptions(_ config: AccountConfig) -> HTTPOptions {
        HTTPOptions(
            caFile: config.caFile, connectTimeout: min(10, settings.providerTimeout),
            totalTimeout: settings.providerTimeout)
    }

    /// The provider's endpoints (`ProviderMetadata.resolve`), cached per account.
    func metadata(for name: String) async throws(OAuthError) -> ProviderMetadata {
        guard let config = accounts[name]?.config else { throw .invalidResponse("unknown account") }
        if let cached = accounts[name]?.oauth.metadata { return cached }
        let metadata = try await ProviderMetadata.resolve(for: config, exchange: oauth, options: httpOptions(config))
        // A reload may have changed the account's provider meanwhile: cache only what is current.
        if accounts[name]?.config.sameProvider(as: config) == true { accounts[name]?.oauth.metadata = metadata }
        return metadata
    }

    /// Writes a secret to the store. A failed write keeps the secret in memory, shows the
    /// account as not persisted, and is tried again (after 5 s, on the next request).
    func persist(_ name: String, _ kind: ItemKind, _ value: Secret<String>) async {
        do {
            try await store.write(account: name, kind: kind, value: value)
            accounts[name]?.pendingWrites[kind] = nil
        } catch {
            accounts[name]?.pendingWrites[kind] = value
            accounts[name]?.nextWriteRetry = clock() + 5
            logger.error(
                "could not store a credential; keeping it in memory",
                metadata: [
                    "account": "\(name)", "item": "\(kind.label)", "store": "\(store.name)",
                    "error": "\(error.message)",
                ])
        }
    }

    func flushPendingWrites(_ name: String) async {
        guard let pending = accounts[name]?.pendingWrites, !pending.isEmpty else { return }
        for (kind, value) in pending where accounts[name]?.pendingWrites[kind] == value {
            await persist(name, kind, value)
        }
        if accounts[name]?.pendingWrites.isEmpty == true {
            logger.info(
                "credentials stored after an earlier failure",
                metadata: ["account": "\(name)", "store": "\(store.name)"])
        }
    }

    /// A store failure as the person sees it.
    func storeError(_ name: String, _ error: StoreError) -> LatchkeyError {
        switch error.kind {
        case .locked:
            return LatchkeyError(
                .signinRequired, "The credentials of '\(name)' cannot be read: \(error.message)",
                hint: "Unlock the keyring; nothing is lost, no new sign-in is needed.")
        case .noBus, .tampered, .keyMissing:
            return LatchkeyError(
                .configuration, "The credentials of '\(name)' cannot be read: \(error.message)",
                hint: "Fix the store as the message says, then try again.")
        case .unavailable, .io, .other:
            return LatchkeyError(
                .storeUnavailable, "The credentials of '\(name)' cannot be read: \(error.message)",
                hint: "Start the keyring service (or fix the store), then try again; nothing is lost.", retryAfter: 10)
        }
    }
}
