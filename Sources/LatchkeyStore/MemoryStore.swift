import LatchkeyCore
import Synchronization

/// Keeps secrets in the daemon's memory only: nothing survives a restart. The honest
/// fallback when no Secret Service answers and no file key is configured.
public final class MemoryStore: CredentialStore {
    private let items = Mutex<[String: Secret<String>]>([:])

    public init() {}

    public var name: String { "memory" }
    public var isPersistent: Bool { false }

    private func key(_ account: String, _ kind: ItemKind) -> String { "\(account)\u{0}\(kind.rawValue)" }

    public func read(account: String, kind: ItemKind) async throws(StoreError) -> Secret<String>? {
        items.withLock { $0[key(account, kind)] }
    }

    public func write(account: String, kind: ItemKind, value: Secret<String>) async throws(StoreError) {
        items.withLock { $0[key(account, kind)] = value }
    }

    public func delete(account: String, kind: ItemKind) async throws(StoreError) {
        _ = items.withLock { $0.removeValue(forKey: key(account, kind)) }
    }
}
