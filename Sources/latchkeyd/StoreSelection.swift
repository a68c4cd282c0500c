import LatchkeyCore
import LatchkeyStore
import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// Chooses the credential store from `[broker] store` (SPEC.md §7).
///
/// `auto` asks the Secret Service itself — is a provider on the bus, is its default keyring
/// unlocked — never a heuristic such as `$DISPLAY`; when it cannot be used, memory is used with
/// a warning that says what was found and how to fix it. An explicitly chosen store is never
/// replaced: `secret-service` that does not answer stays in use and every request that needs it
/// says why it failed (the service may come up after the daemon); `file` without a usable key
/// stops the daemon with a configuration error.
enum StoreSelection {
    static func make(_ settings: BrokerSettings, paths: Paths, logger: Logger) async throws(LatchkeyError) -> (
        store: any CredentialStore, warning: String?
    ) {
        switch settings.store {
        case .memory:
            return (MemoryStore(), nil)
        case .secretService:
            let store = SecretServiceStore()
            do {
                let collection = try await store.probe()
                if collection.locked {
                    logger.warning(
                        "the keyring is locked: stored credentials cannot be read until it is unlocked",
                        metadata: ["store": "secret-service", "keyring": "\(collection.label)"])
                }
            } catch {
                logger.error(
                    "the Secret Service does not answer",
                    metadata: ["store": "secret-service", "error": "\(error.message)"])
            }
            return (store, nil)
        case .auto:
            let store = SecretServiceStore()
            let why: String
            do {
                let collection = try await store.probe()
                if !collection.locked { return (store, nil) }
                why = SecretServiceStore.lockedError(collection.label).message
            } catch {
                why = error.message
            }
            let warning =
                "Credentials are kept in memory only (a restart needs a new sign-in), because the Secret Service cannot be used: \(why)"
            logger.warning("store fallback: memory", metadata: ["store": "memory", "reason": "\(why)"])
            return (MemoryStore(), warning)
        case .file:
            let credentials = getenv("CREDENTIALS_DIRECTORY").map { String(cString: $0) }
            do {
                let key = try FileStore.loadKey(credentialsDirectory: credentials, keyFile: settings.keyFile)
                return (FileStore(path: settings.storeFile ?? paths.dataDirectory + "/store.bin", key: key), nil)
            } catch {
                throw LatchkeyError(
                    .configuration, "The file store cannot be used: \(error.message)",
                    hint: "Provide the key, or choose another store in [broker].")
            }
        }
    }
}
