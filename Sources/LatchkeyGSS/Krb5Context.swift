internal import CGSSAPI

// One `krb5_context` per public call: libkrb5 contexts are not thread-safe, and the broker
// runs calls on several threads at once. ARC owns every handle below; `deinit` frees it.

/// A libkrb5 library context and the funnel every `krb5_error_code` goes through.
final class Krb5Context {
    let raw: krb5_context
    /// Whom the call is about, for the plain words of its errors.
    var subject: KerberosError.Subject

    init(subject: KerberosError.Subject) throws(KerberosError) {
        var context: krb5_context?
        let code = krb5_init_context(&context)
        guard code == 0, let context else {
            // Without a context there is no extended message: libkrb5 accepts a null context
            // for the code's own text (error_message lives in libcom_err, which is not linked).
            var text = ""
            if let message = krb5_get_error_message(nil, code) {
                text = String(cString: message)
                krb5_free_error_message(nil, message)
            }
            throw KerberosError(
                kind: .other, message: "cannot initialise Kerberos (check KRB5_CONFIG and krb5.conf): \(text)")
        }
        self.raw = context
        self.subject = subject
    }

    deinit { krb5_free_context(raw) }

    /// Throws a classified error for a failed call; `override` forces the kind (a cancelled
    /// prompt, for instance, whatever code krb5 turned it into).
    func check(_ code: krb5_error_code, override: KerberosFailureKind? = nil, extra: String? = nil)
        throws(KerberosError)
    {
        guard code != 0 else { return }
        var text = errorMessage(code)
        if let extra, !extra.isEmpty { text = text.isEmpty ? extra : "\(text) (\(extra))" }
        throw KerberosError.krb5(code: Int(code), libraryText: text, subject: subject, override: override)
    }

    /// `krb5_get_error_message`: the extended message of the last failure on this context.
    func errorMessage(_ code: krb5_error_code) -> String {
        guard let message = krb5_get_error_message(raw, code) else { return "" }
        defer { krb5_free_error_message(raw, message) }
        var text = String(cString: message)
        while text.last == "\0" { text.removeLast() }
        return text
    }

    func parsePrincipal(_ name: String) throws(KerberosError) -> Krb5Principal {
        var principal: krb5_principal?
        try check(krb5_parse_name(raw, name, &principal))
        return Krb5Principal(context: self, raw: principal!)
    }

    /// The cache named `name`, or the default one: for a principal, the cache of the default
    /// collection that holds its tickets (`krb5_cc_cache_match`), as kinit and GSSAPI choose.
    func cache(named name: String?, for principal: Krb5Principal?) throws(KerberosError) -> Krb5Cache {
        var cache: krb5_ccache?
        if let name {
            try check(krb5_cc_resolve(raw, name, &cache))
        } else if let principal, krb5_cc_cache_match(raw, principal.raw, &cache) == 0, cache != nil {
            // found in the collection
        } else {
            krb5_clear_error_message(raw)
            try check(krb5_cc_default(raw, &cache))
        }
        return Krb5Cache(context: self, raw: cache!)
    }

    /// Seconds since the epoch, by the library's clock (which includes the KDC time offset).
    func now() throws(KerberosError) -> Int {
        var now: krb5_timestamp = 0
        try check(krb5_timeofday(raw, &now))
        // krb5_timestamp is a 32-bit value that wraps in 2106: read it unsigned.
        return Int(UInt32(bitPattern: now))
    }
}

/// A parsed principal name (`krb5_principal`).
final class Krb5Principal {
    let context: Krb5Context
    let raw: krb5_principal

    init(context: Krb5Context, raw: krb5_principal) {
        self.context = context
        self.raw = raw
    }

    deinit { krb5_free_principal(context.raw, raw) }

    /// The principal's text form, such as "alice@LATCHKEY.TEST".
    var name: String {
        var text: UnsafeMutablePointer<CChar>?
        guard krb5_unparse_name(context.raw, raw, &text) == 0, let text else { return "?" }
        defer { krb5_free_unparsed_name(context.raw, text) }
        return String(cString: text)
    }

    /// The realm, from the principal's own data.
    var realm: String {
        let data = raw.pointee.realm
        guard let bytes = data.data, data.length > 0 else { return "" }
        return String(decoding: UnsafeRawBufferPointer(start: bytes, count: Int(data.length)), as: UTF8.self)
    }
}

/// An open credential cache handle (`krb5_ccache`).
final class Krb5Cache {
    let context: Krb5Context
    let raw: krb5_ccache

    init(context: Krb5Context, raw: krb5_ccache) {
        self.context = context
        self.raw = raw
    }

    deinit { krb5_cc_close(context.raw, raw) }

    /// "TYPE:residual", for messages.
    var fullName: String {
        var text: UnsafeMutablePointer<CChar>?
        guard krb5_cc_get_full_name(context.raw, raw, &text) == 0, let text else { return "?" }
        defer { krb5_free_string(context.raw, text) }
        return String(cString: text)
    }

    /// The cache's default principal; fails with `.noCredentials` when the cache is missing.
    func principal() throws(KerberosError) -> Krb5Principal {
        var principal: krb5_principal?
        try context.check(krb5_cc_get_principal(context.raw, raw, &principal))
        return Krb5Principal(context: context, raw: principal!)
    }

    /// Replaces the cache's contents with `creds` for `principal` (initialise, then store).
    func replace(with creds: inout krb5_creds, principal: Krb5Principal) throws(KerberosError) {
        try context.check(krb5_cc_initialize(context.raw, raw, principal.raw))
        try context.check(krb5_cc_store_cred(context.raw, raw, &creds))
    }
}
