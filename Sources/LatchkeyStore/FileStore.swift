import LatchkeyBlocking
import LatchkeyCore
import LatchkeyCrypto
import Synchronization

/// Credentials in one file encrypted with AES-256-GCM, for machines with no Secret Service
/// (servers, containers, headless sessions). The format is described on `StoreFile`; the key
/// comes from `loadKey(credentialsDirectory:keyFile:)`.
///
/// Invariants:
/// - A file that fails its integrity check (or that this version cannot read) is never
///   discarded and never replaced: every read and every write fails with the same error
///   until the person restores the key or the file, or moves it aside.
/// - Writes are read-modify-write of the whole file, replaced atomically (`FileIO.replaceAtomically`).
///   Each write reads and verifies the file on disk again rather than trusting the cache, so
///   a file changed behind the daemon's back is refused instead of overwritten.
/// - All file I/O runs on one private serial queue: it serializes writers within the process
///   and keeps blocking calls off Swift's cooperative pool.
/// - Reads are answered from the decrypted items cached after the first successful read; our
///   own writes replace the cache, and a failed write drops it so the next read looks again.
/// - No value ever appears in an error message: messages name the file, never the contents.
public final class FileStore: CredentialStore {
    /// The encrypted file.
    public let path: String
    private let key: Secret<[UInt8]>
    /// Reads and writes of the file, one at a time, off the cooperative pool.
    private let lane = BlockingLane(label: "latchkey.file-store")
    private let cache = Mutex<StoredItems?>(nil)
    /// Leftovers of a write that a crash interrupted are removed once, at the first load.
    private let leftoversRemoved = Mutex(false)

    /// A store over the file at `path` (created on the first write), encrypted with `key`
    /// (32 bytes, from `loadKey`). Nothing is read until the first request.
    public init(path: String, key: [UInt8]) {
        self.path = path
        self.key = Secret(key)
    }

    public var name: String { "file" }
    public var isPersistent: Bool { true }

    public func read(account: String, kind: ItemKind) async throws(StoreError) -> Secret<String>? {
        if let cached = cache.withLock({ items in items.map { $0[account, kind] } }) { return cached }
        let items = try await perform { () throws(StoreError) in try self.loadCaching() }
        return items[account, kind]
    }

    public func write(account: String, kind: ItemKind, value: Secret<String>) async throws(StoreError) {
        try await update { items in
            guard items[account, kind] != value else { return false }
            items[account, kind] = value
            return true
        }
    }

    public func delete(account: String, kind: ItemKind) async throws(StoreError) {
        try await update { items in
            guard items[account, kind] != nil else { return false }
            items[account, kind] = nil
            return true
        }
    }

    // MARK: Plumbing (on `queue` only)

    /// The cached items, or the file's, decrypted and then cached. A missing file is an empty store.
    private func loadCaching() throws(StoreError) -> StoredItems {
        if let cached = cache.withLock({ $0 }) { return cached }
        let items = try loadFromDisk()
        cache.withLock { $0 = items }
        return items
    }

    private func loadFromDisk() throws(StoreError) -> StoredItems {
        if !leftoversRemoved.withLock({ done in
            defer { done = true }; return done
        }) {
            FileIO.removeLeftovers(of: path)
        }
        guard var bytes = try FileIO.readIfPresent(path, limit: StoreFile.sizeLimit) else { return StoredItems() }
        defer { Crypto.cleanse(&bytes) }
        return try StoreFile.open(bytes, key: key.reveal(), path: path)
    }

    /// Read, verify, change, replace. `change` returns false when it changed nothing, and the
    /// file is left as it is (deleting what is not there does not create a file).
    private func update(_ change: @escaping @Sendable (inout StoredItems) -> Bool) async throws(StoreError) {
        try await perform { () throws(StoreError) in
            do throws(StoreError) {
                var items = try self.loadFromDisk()
                if change(&items) {
                    try FileIO.replaceAtomically(
                        self.path, with: StoreFile.seal(items, key: self.key.reveal(), path: self.path))
                }
                self.cache.withLock { $0 = items }
            } catch {
                self.cache.withLock { $0 = nil }
                throw error
            }
        }
    }

    private func perform<T: Sendable>(_ body: @escaping @Sendable () throws(StoreError) -> T) async throws(StoreError)
        -> T
    {
        try await lane.run(body)
    }
}
