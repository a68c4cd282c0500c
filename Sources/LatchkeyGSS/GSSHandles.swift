internal import CGSSAPI

// ARC owns every GSSAPI handle: each wrapper releases its handle in `deinit`. Every status goes
// through `GSSStatus.check`, which turns it into a `GSSError` with the library's text.

/// An imported GSS name (`gss_name_t`).
final class GSSName {
    private(set) var raw: gss_name_t?

    /// `gss_import_name`, for example ("HTTP@mail.example.org", host-based service) or
    /// ("alice@EXAMPLE.ORG", user name).
    init(_ text: String, type: gss_OID) throws(GSSError) {
        var minor: OM_uint32 = 0
        var name: gss_name_t?
        var bytes = Array(text.utf8)
        let major = bytes.withUnsafeMutableBytes { storage in
            var buffer = gss_buffer_desc(length: storage.count, value: storage.baseAddress)
            return gss_import_name(&minor, &buffer, type, &name)
        }
        try GSSStatus.check(major: major, minor: minor)
        raw = name
    }

    deinit {
        var minor: OM_uint32 = 0
        if raw != nil { gss_release_name(&minor, &raw) }
    }
}

/// An initiator credential for one mechanism (`gss_cred_id_t`) and its remaining lifetime.
final class GSSCredential {
    private(set) var raw: gss_cred_id_t?
    /// Seconds the credential stays valid; `lk_gss_indefinite()` when unlimited.
    let lifetime: OM_uint32

    /// `gss_acquire_cred_from` with a "ccache" store element when `cache` is given, else
    /// `gss_acquire_cred` (the default cache, as KRB5CCNAME and krb5.conf say). `name` nil means
    /// the cache's default principal.
    init(name: GSSName?, mech: gss_OID, cache: String?) throws(GSSError) {
        var minor: OM_uint32 = 0
        var credential: gss_cred_id_t?
        var lifetime: OM_uint32 = 0
        var mechs = gss_OID_set_desc(count: 1, elements: mech)
        let usage = gss_cred_usage_t(GSS_C_INITIATE)
        let major: OM_uint32
        if let cache {
            major = "ccache".withCString { key in
                cache.withCString { value in
                    var element = gss_key_value_element_desc(key: key, value: value)
                    return withUnsafeMutablePointer(to: &element) { elements in
                        var store = gss_key_value_set_desc(count: 1, elements: elements)
                        return gss_acquire_cred_from(
                            &minor, name?.raw, 0, &mechs, usage, &store, &credential, nil, &lifetime)
                    }
                }
            }
        } else {
            major = gss_acquire_cred(&minor, name?.raw, 0, &mechs, usage, &credential, nil, &lifetime)
        }
        // Release a handle the library may have set even on failure.
        raw = credential
        self.lifetime = lifetime
        try GSSStatus.check(major: major, minor: minor)
    }

    /// The credential's principal as text ("alice@EXAMPLE.ORG"), for messages; nil if unknown.
    var principalName: String? {
        var minor: OM_uint32 = 0
        var name: gss_name_t?
        guard lk_gss_is_error(gss_inquire_cred(&minor, raw, &name, nil, nil, nil)) == 0, name != nil else { return nil }
        defer { gss_release_name(&minor, &name) }
        var buffer = gss_buffer_desc()
        guard lk_gss_is_error(gss_display_name(&minor, name, &buffer, nil)) == 0, let value = buffer.value else {
            return nil
        }
        defer { gss_release_buffer(&minor, &buffer) }
        return String(decoding: UnsafeRawBufferPointer(start: value, count: buffer.length), as: UTF8.self)
    }

    /// `gss_set_neg_mechs`: the mechanisms SPNEGO may offer with this credential.
    func restrictNegotiation(to mech: gss_OID) throws(GSSError) {
        var minor: OM_uint32 = 0
        var mechs = gss_OID_set_desc(count: 1, elements: mech)
        try GSSStatus.check(major: gss_set_neg_mechs(&minor, raw, &mechs), minor: minor)
    }

    deinit {
        var minor: OM_uint32 = 0
        if raw != nil { gss_release_cred(&minor, &raw) }
    }
}

/// An initiator security context (`gss_ctx_id_t`), deleted when released.
final class GSSInitiatorContext {
    private var raw: gss_ctx_id_t?

    init() {}

    /// The first `gss_init_sec_context` step for `target` with `mech`: the initial token. With
    /// SPNEGO the context stays incomplete (the server's answer would continue it); HTTP
    /// Negotiate sends the first token only.
    func firstToken(credential: GSSCredential, target: GSSName, mech: gss_OID, flags: OM_uint32)
        throws(GSSError) -> [UInt8]
    {
        var minor: OM_uint32 = 0
        var output = gss_buffer_desc()
        let major = gss_init_sec_context(
            &minor, credential.raw, &raw, target.raw, mech, flags, 0, nil, nil, nil, &output, nil, nil)
        defer {
            var ignored: OM_uint32 = 0
            gss_release_buffer(&ignored, &output)
        }
        try GSSStatus.check(major: major, minor: minor)
        guard let value = output.value, output.length > 0 else {
            throw GSSError(
                major: major, minor: minor, majorText: "the mechanism produced no initial token", minorText: "")
        }
        return Array(UnsafeRawBufferPointer(start: value, count: output.length))
    }

    deinit {
        var minor: OM_uint32 = 0
        if raw != nil { gss_delete_sec_context(&minor, &raw, nil) }
    }
}
