internal import CLibSecret
import LatchkeyBlocking
import LatchkeyCore

/// Secrets in the Secret Service (gnome-keyring, KeePassXC, KWallet's bridge) through libsecret.
///
/// Items use Latchkey's own schema, `org.latchkey.Credential`, with the attributes `account`
/// and `kind`, labelled "Latchkey: work — refresh token" so a person recognises them in Seahorse.
/// Attributes are stored unencrypted by the service: they never carry a secret.
///
/// A locked collection looks like "no item" to a lookup (NOTES-linux.md), so every read first
/// asks the service whether the default collection is locked. All libsecret and GIO calls are
/// blocking and run one at a time on one `BlockingLane`, never on Swift's cooperative pool.
public final class SecretServiceStore: CredentialStore, @unchecked Sendable {
    // @unchecked: `schema` is created once in init and only read afterwards, on `lane`.
    private let lane = BlockingLane(label: "latchkey.secret-service")
    private let schema: UnsafeMutablePointer<SecretSchema>

    public init() {
        schema = Self.makeSchema()
    }

    deinit { secret_schema_unref(schema) }

    public var name: String { "secret-service" }
    public var isPersistent: Bool { true }

    /// What the service says about its default collection: reachable, its label, locked or not.
    public func probe() async throws(StoreError) -> (label: String, locked: Bool) {
        try await perform { () throws(StoreError) in try SecretServiceBus.defaultCollection() }
    }

    public func read(account: String, kind: ItemKind) async throws(StoreError) -> Secret<String>? {
        try await perform { () throws(StoreError) in
            let collection = try SecretServiceBus.defaultCollection()
            if collection.locked { throw Self.lockedError(collection.label) }
            return try self.retryingOnce { () throws(StoreError) in
                let attributes = Self.attributes(account, kind)
                defer { g_hash_table_unref(attributes) }
                var error: UnsafeMutablePointer<GError>?
                let value = secret_password_lookupv_sync(self.schema, attributes, nil, &error)
                if let error { throw Self.storeError(error, doing: "read") }
                guard let value else { return nil }
                defer { secret_password_free(value) }
                return Secret(String(cString: value))
            }
        }
    }

    public func write(account: String, kind: ItemKind, value: Secret<String>) async throws(StoreError) {
        try await perform { () throws(StoreError) in
            let collection = try SecretServiceBus.defaultCollection()
            if collection.locked { throw Self.lockedError(collection.label) }
            try self.retryingOnce { () throws(StoreError) in
                let attributes = Self.attributes(account, kind)
                defer { g_hash_table_unref(attributes) }
                var error: UnsafeMutablePointer<GError>?
                let stored = secret_password_storev_sync(
                    self.schema, attributes, lk_secret_collection_default(), "Latchkey: \(account) — \(kind.label)",
                    value.reveal(), nil, &error)
                if let error { throw Self.storeError(error, doing: "store") }
                if stored == 0 {
                    throw StoreError(.other, "The Secret Service refused to store the \(kind.label) of '\(account)'.")
                }
            }
        }
    }

    public func delete(account: String, kind: ItemKind) async throws(StoreError) {
        try await perform { () throws(StoreError) in
            try self.retryingOnce { () throws(StoreError) in
                let attributes = Self.attributes(account, kind)
                defer { g_hash_table_unref(attributes) }
                var error: UnsafeMutablePointer<GError>?
                _ = secret_password_clearv_sync(self.schema, attributes, nil, &error)
                if let error { throw Self.storeError(error, doing: "remove") }
            }
        }
    }

    // MARK: Plumbing

    private func perform<T: Sendable>(_ body: @escaping @Sendable () throws(StoreError) -> T) async throws(StoreError)
        -> T
    {
        try await lane.run(body)
    }

    /// libsecret keeps one connection and session per process; after the service restarts
    /// that session is gone. Drop it and try once more before reporting the failure.
    private func retryingOnce<T>(_ body: () throws(StoreError) -> T) throws(StoreError) -> T {
        do {
            return try body()
        } catch  where error.kind == .other || error.kind == .unavailable {
            secret_service_disconnect()
            return try body()
        }
    }

    private static func attributes(_ account: String, _ kind: ItemKind) -> OpaquePointer {
        let table = lk_secret_attributes_new()!
        lk_secret_attributes_insert(table, "account", account)
        lk_secret_attributes_insert(table, "kind", kind.rawValue)
        return table
    }

    private static func makeSchema() -> UnsafeMutablePointer<SecretSchema> {
        let names = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, nil)
        defer { g_hash_table_unref(names) }
        // The table maps attribute name → SecretSchemaAttributeType (STRING is 0, i.e. NULL).
        g_hash_table_insert(names, g_strdup("account"), nil)
        g_hash_table_insert(names, g_strdup("kind"), nil)
        return secret_schema_newv("org.latchkey.Credential", SECRET_SCHEMA_NONE, names)
    }

    public static func lockedError(_ label: String) -> StoreError {
        StoreError(
            .locked,
            "The keyring '\(label)' is locked — unlock it (log in to the desktop, or unlock it with your keyring tool such as Seahorse), then try again."
        )
    }

    /// Every GError from libsecret or GIO becomes a StoreError that names the fix; the
    /// library's own text is kept in it.
    static func storeError(_ error: UnsafeMutablePointer<GError>, doing what: String) -> StoreError {
        defer { g_error_free(error) }
        return classify(String(cString: error.pointee.message), doing: what)
    }

    static func classify(_ text: String, doing what: String) -> StoreError {
        if text.includes("was not provided by any .service files") || text.includes("ServiceUnknown")
            || text.includes("org.freedesktop.secrets") && text.includes("not")
        {
            return StoreError(
                .unavailable,
                "No Secret Service is running on the session bus (\(text)). Start one (gnome-keyring-daemon --components=secrets, or KeePassXC with its Secret Service integration), or set store = \"file\" in the configuration."
            )
        }
        if text.includes("Cannot autolaunch D-Bus") || text.includes("DBUS_SESSION_BUS_ADDRESS") {
            return StoreError(
                .noBus,
                "There is no D-Bus session bus: DBUS_SESSION_BUS_ADDRESS is not set and there is no display (\(text)). Run Latchkey inside your desktop or systemd user session, or set store = \"file\" on a headless machine."
            )
        }
        if text.includes("Could not connect") {
            return StoreError(
                .noBus,
                "The D-Bus session bus cannot be reached (\(text)). Is your session still running? Check DBUS_SESSION_BUS_ADDRESS, or set store = \"file\" on a headless machine."
            )
        }
        if text.lowercased().includes("locked") {
            return lockedError("default")
        }
        return StoreError(.other, "The Secret Service could not \(what) the item: \(text)")
    }
}
