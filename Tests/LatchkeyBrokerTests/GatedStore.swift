import LatchkeyCore
import LatchkeyStore

/// A memory store whose writes wait at a gate the test controls: a slow keyring, without time.
/// Reads and deletes pass at once.
final class GatedStore: CredentialStore {
    let inner = MemoryStore()
    let writes = Gate()

    var name: String { "memory" }
    var isPersistent: Bool { false }

    func read(account: String, kind: ItemKind) async throws(StoreError) -> Secret<String>? {
        try await inner.read(account: account, kind: kind)
    }

    func write(account: String, kind: ItemKind, value: Secret<String>) async throws(StoreError) {
        await writes.pass()
        try await inner.write(account: account, kind: kind, value: value)
    }

    func delete(account: String, kind: ItemKind) async throws(StoreError) {
        try await inner.delete(account: account, kind: kind)
    }
}
