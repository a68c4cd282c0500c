internal import CGSSAPI

extension Kerberos {
    /// The principal and seconds left of the TGT in the cache (for status and renewal decisions).
    ///
    /// `cache` is a ccache name ("FILE:…", "DIR:…", "KEYRING:…"; nil = the default, or the cache of
    /// the default collection holding `principal`'s tickets). Throws `.noCredentials` when there is
    /// no cache or no TGT in it, and `.expired` when the TGT's end time has passed.
    /// `renewableSecondsLeft` is 0 for a ticket that cannot be renewed.
    public static func ticketStatus(
        principal: String?, cache: String?
    ) throws(KerberosError) -> (principal: String, secondsLeft: Int, renewableSecondsLeft: Int) {
        let context = try Krb5Context(subject: .init(principal: principal, cache: cache))
        let (ccache, owner) = try openCache(context: context, principal: principal, cache: cache)
        let tgt = try ccache.ticketGrantingTicket(of: owner)
        let now = try context.now()
        let left = tgt.endTime - now
        guard left > 0 else { throw expiredTicket(context) }
        let renewable = tgt.renewable ? max(0, tgt.renewTill - now) : 0
        return (owner.name, left, renewable)
    }

    /// Renews a renewable TGT in place (`krb5_get_renewed_creds`, then the cache is initialised
    /// and the new TGT stored, as `kinit -R` does).
    public static func renew(principal: String?, cache: String?) throws(KerberosError) {
        let context = try Krb5Context(subject: .init(principal: principal, cache: cache))
        let (ccache, owner) = try openCache(context: context, principal: principal, cache: cache)
        let tgt = try ccache.ticketGrantingTicket(of: owner)
        let now = try context.now()
        guard tgt.endTime > now else { throw expiredTicket(context) }
        guard tgt.renewable else {
            throw KerberosError(
                kind: .other, message: "the ticket of \(context.subject.who) is not renewable (sign in again)")
        }
        guard tgt.renewTill > now else {
            throw KerberosError(
                kind: .expired,
                message: "the renewable life of the ticket of \(context.subject.who) has ended (sign in again)")
        }
        var creds = krb5_creds()
        try context.check(krb5_get_renewed_creds(context.raw, &creds, owner.raw, ccache.raw, nil))
        defer { krb5_free_cred_contents(context.raw, &creds) }
        try ccache.replace(with: &creds, principal: owner)
    }

    /// The cache and its default principal, which must be `principal` when one is asked for.
    static func openCache(
        context: Krb5Context, principal: String?, cache: String?
    ) throws(KerberosError) -> (Krb5Cache, Krb5Principal) {
        let wanted: Krb5Principal? = try principal.map { name throws(KerberosError) in
            try context.parsePrincipal(name)
        }
        let ccache = try context.cache(named: cache, for: wanted)
        context.subject.cache = context.subject.cache ?? ccache.fullName
        let owner = try ccache.principal()
        if let wanted, krb5_principal_compare(context.raw, wanted.raw, owner.raw) == 0 {
            throw KerberosError(
                kind: .noCredentials,
                message: "no Kerberos credentials for \(wanted.name): the cache \(ccache.fullName) holds "
                    + "tickets for \(owner.name)")
        }
        context.subject.principal = owner.name
        return (ccache, owner)
    }

    static func expiredTicket(_ context: Krb5Context) -> KerberosError {
        let code = Int(KRB5KRB_AP_ERR_TKT_EXPIRED)
        return KerberosError(
            kind: .expired,
            message: KerberosError.words(for: .expired, code: code, subject: context.subject))
    }
}

/// The times of a ticket-granting ticket, in seconds since the epoch.
struct TicketTimes {
    var endTime: Int
    var renewTill: Int
    var renewable: Bool
}

extension Krb5Cache {
    /// The times of the TGT for `owner`'s own realm (krbtgt/REALM@REALM), skipping the cache's
    /// configuration entries. Throws `.noCredentials` when the cache holds none.
    func ticketGrantingTicket(of owner: Krb5Principal) throws(KerberosError) -> TicketTimes {
        let realm = owner.realm
        let tgs = try context.parsePrincipal("krbtgt/\(realm)@\(realm)")
        var cursor: krb5_cc_cursor?
        try context.check(krb5_cc_start_seq_get(context.raw, raw, &cursor))
        defer { krb5_cc_end_seq_get(context.raw, raw, &cursor) }
        var found: TicketTimes?
        while true {
            var creds = krb5_creds()
            let code = krb5_cc_next_cred(context.raw, raw, &cursor, &creds)
            if code == KRB5_CC_END { break }
            try context.check(code)
            defer { krb5_free_cred_contents(context.raw, &creds) }
            guard let server = creds.server, krb5_is_config_principal(context.raw, server) == 0,
                krb5_principal_compare(context.raw, server, tgs.raw) != 0
            else { continue }
            let times = creds.times
            let flags = UInt32(bitPattern: creds.ticket_flags)
            let candidate = TicketTimes(
                endTime: Int(UInt32(bitPattern: times.endtime)),
                renewTill: Int(UInt32(bitPattern: times.renew_till)),
                renewable: flags & UInt32(TKT_FLG_RENEWABLE) != 0)
            // Keep the TGT that lasts longest (a cache may hold an old and a renewed one).
            if found == nil || candidate.endTime > found!.endTime { found = candidate }
        }
        guard let found else {
            throw KerberosError(
                kind: .noCredentials,
                message: "no Kerberos credentials for \(context.subject.who): the cache holds no "
                    + "ticket-granting ticket for realm \(realm)")
        }
        return found
    }
}

extension Kerberos {
    /// The default realm of this machine's Kerberos configuration (`default_realm` in
    /// krb5.conf, or `$KRB5_CONFIG`); nil when none is set, which means Kerberos cannot work
    /// here without configuration.
    public static func defaultRealm() -> String? {
        guard let context = try? Krb5Context(subject: .init(principal: nil, cache: nil)) else { return nil }
        var realm: UnsafeMutablePointer<CChar>?
        guard krb5_get_default_realm(context.raw, &realm) == 0, let realm else { return nil }
        defer { krb5_free_default_realm(context.raw, realm) }
        let text = String(cString: realm)
        return text.isEmpty ? nil : text
    }
}
