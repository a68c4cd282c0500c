internal import CLibSecret

/// Latchkey's own libsecret schema, `org.latchkey.Credential`, with the attributes `account`
/// and `kind`. Attributes name items; they never carry a secret (Secret Service attributes
/// are stored unencrypted).
enum SecretServiceSchema {
    static let name = "org.latchkey.Credential"

    /// A new schema handle; the caller releases it with `secret_schema_unref`.
    static func make() -> UnsafeMutablePointer<SecretSchema>? {
        let attributes = lk_secret_attributes_new()
        defer { g_hash_table_unref(attributes) }
        // The *newv variant takes a GHashTable of name → SecretSchemaAttributeType (as a
        // pointer-sized integer); it is the non-variadic form Swift can call.
        g_hash_table_insert(attributes, g_strdup("account"), UnsafeMutableRawPointer(bitPattern: Int(SECRET_SCHEMA_ATTRIBUTE_STRING.rawValue)))
        g_hash_table_insert(attributes, g_strdup("kind"), UnsafeMutableRawPointer(bitPattern: Int(SECRET_SCHEMA_ATTRIBUTE_STRING.rawValue)))
        return secret_schema_newv(name, SECRET_SCHEMA_NONE, attributes)
    }
}
