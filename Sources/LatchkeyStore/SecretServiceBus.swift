internal import CLibSecret

/// Direct D-Bus questions to the Secret Service (org.freedesktop.Secret.Service), for what
/// libsecret's cached proxies may not know without a running main loop: which collection the
/// `default` alias names, its label, and whether it is locked right now.
enum SecretServiceBus {
    static let service = "org.freedesktop.secrets"

    static func defaultCollection() throws(StoreError) -> (label: String, locked: Bool) {
        var error: UnsafeMutablePointer<GError>?
        guard let bus = g_bus_get_sync(G_BUS_TYPE_SESSION, nil, &error) else {
            throw error.map { SecretServiceStore.storeError($0, doing: "reach") }
                ?? StoreError(.noBus, "There is no D-Bus session bus.")
        }
        defer { g_object_unref(UnsafeMutableRawPointer(bus)) }
        let alias = try call(
            bus, "/org/freedesktop/secrets", "org.freedesktop.Secret.Service", "ReadAlias",
            [g_variant_new_string("default")])
        defer { g_variant_unref(alias) }
        let pathValue = g_variant_get_child_value(alias, 0)
        defer { g_variant_unref(pathValue) }
        let path = String(cString: g_variant_get_string(pathValue, nil))
        guard path != "/" else {
            throw StoreError(
                .unavailable,
                "The Secret Service has no default keyring. Create one (Seahorse: File › New › Password Keyring, then set it as default)."
            )
        }
        let locked = try property(bus, path, "Locked") { g_variant_get_boolean($0) != 0 } ?? false
        let label = try property(bus, path, "Label") { String(cString: g_variant_get_string($0, nil)) } ?? "default"
        return (label, locked)
    }

    /// A property of a collection, read by `value` while the variant is alive.
    private static func property<T>(_ bus: OpaquePointer, _ path: String, _ name: String, _ value: (OpaquePointer) -> T)
        throws(StoreError) -> T?
    {
        let reply = try call(
            bus, path, "org.freedesktop.DBus.Properties", "Get",
            [
                g_variant_new_string("org.freedesktop.Secret.Collection"), g_variant_new_string(name),
            ])
        defer { g_variant_unref(reply) }
        guard let boxed = g_variant_get_child_value(reply, 0) else { return nil }
        defer { g_variant_unref(boxed) }
        guard let inner = g_variant_get_variant(boxed) else { return nil }
        defer { g_variant_unref(inner) }
        return value(inner)
    }

    private static func call(
        _ bus: OpaquePointer, _ path: String, _ interface: String, _ method: String, _ arguments: [OpaquePointer?]
    ) throws(StoreError) -> OpaquePointer {
        var children = arguments
        let parameters = children.withUnsafeMutableBufferPointer {
            g_variant_new_tuple($0.baseAddress, gsize($0.count))
        }
        var error: UnsafeMutablePointer<GError>?
        let reply = g_dbus_connection_call_sync(
            bus, service, path, interface, method, parameters, nil, G_DBUS_CALL_FLAGS_NONE, 10_000, nil, &error)
        if let error { throw SecretServiceStore.storeError(error, doing: "reach") }
        guard let reply else { throw StoreError(.other, "The Secret Service gave no answer to \(method).") }
        return reply
    }
}
