internal import CGSSAPI
public import LatchkeyCore

extension Kerberos {
    /// Gets a TGT with the password (`krb5_get_init_creds_password`) and stores it into `cache`
    /// (nil = the default cache, or the cache of the default collection that already holds
    /// `principal`'s tickets).
    ///
    /// Every prompt libkrb5 makes goes to `prompter`: the password, a forced password change
    /// ("Password expired.  You must change it now." with "Enter new password" / "Enter it
    /// again"), OTP and other pre-authentication questions, and banners (expiry warnings; after a
    /// rejected new password, the KDC's reason followed by the prompts again). `password`, when
    /// given (a remembered password), answers the first password prompt without asking.
    ///
    /// The cache is replaced only once the KDC has issued a ticket: a wrong password leaves the
    /// old tickets in place.
    ///
    /// Returns what the KDC reported of the principal's password expiry (its last-req data or
    /// the reply's key expiration, through `krb5_get_init_creds_opt_set_expire_callback`). With
    /// that callback set, libkrb5 shows no expiry warning of its own; one is relayed here as a
    /// banner instead, as libkrb5 would: when the expiry is less than 7 days away.
    @discardableResult
    public static func signIn(
        principal: String, password: Secret<String>?, cache: String?, prompter: any KerberosPrompter
    ) throws(KerberosError) -> KerberosSignIn {
        let context = try Krb5Context(subject: .init(principal: principal, cache: cache))
        let client = try context.parsePrincipal(principal)
        context.subject.principal = client.name

        var options: UnsafeMutablePointer<krb5_get_init_creds_opt>?
        try context.check(krb5_get_init_creds_opt_alloc(context.raw, &options))
        defer { krb5_get_init_creds_opt_free(context.raw, options) }
        krb5_get_init_creds_opt_set_change_password_prompt(options, 1)

        let relay = PromptRelay(prompter: prompter)
        try context.check(
            krb5_get_init_creds_opt_set_expire_callback(
                context.raw, options, lkKrb5ExpireCallback, Unmanaged.passUnretained(relay).toOpaque()))
        var creds = krb5_creds()
        defer { krb5_free_cred_contents(context.raw, &creds) }
        let code = obtain(
            context: context, creds: &creds, client: client, password: password, relay: relay, options: options)

        if code != 0 {
            var extra = relay.failure
            if Int(code) == KRB5_CHPW_FAIL, let banner = relay.lastBanner {
                // libkrb5 drops the KDC's reason for the final refusal; the banner before the last
                // try carries its words for the one before ("…too short.  Please try again.").
                var reason = Substring(banner.split(separator: "\n").joined(separator: " "))
                if let retry = reason.firstOccurrence(of: "  Please try again.") {
                    reason = reason[..<retry.lowerBound]
                }
                extra = String(reason)
            }
            try context.check(code, override: relay.cancelled ? .cancelled : nil, extra: extra)
        }
        let ccache = try context.cache(named: cache, for: client)
        try ccache.replace(with: &creds, principal: client)
        relay.warnOfPasswordExpiry(now: (try? context.now()) ?? 0)
        let passwordExpiresAt = relay.passwordExpiresAt.map { Timestamp(secondsSinceEpoch: Double($0)) }
        return KerberosSignIn(passwordExpiresAt: passwordExpiresAt)
    }

    /// The `krb5_get_init_creds_password` call, with the remembered password (if any) in a C
    /// buffer this function owns and zeroes, and the relay passed unretained as prompter data.
    private static func obtain(
        context: Krb5Context, creds: inout krb5_creds, client: Krb5Principal, password: Secret<String>?,
        relay: PromptRelay, options: UnsafeMutablePointer<krb5_get_init_creds_opt>?
    ) -> krb5_error_code {
        var secret: [CChar] = password.map { Array($0.reveal().utf8CString) } ?? []
        defer { secret.withUnsafeMutableBytes { lk_secure_zero($0.baseAddress, $0.count) } }
        return withExtendedLifetime(relay) {
            let data = Unmanaged.passUnretained(relay).toOpaque()
            return secret.withUnsafeBufferPointer { buffer in
                krb5_get_init_creds_password(
                    context.raw, &creds, client.raw, password == nil ? nil : buffer.baseAddress, lkKrb5Prompter,
                    data, 0, nil, options)
            }
        }
    }
}

/// What a sign-in learnt besides the ticket.
public struct KerberosSignIn: Sendable, Equatable {
    /// The principal's password expiry as the KDC reported it; nil when it reported none.
    public var passwordExpiresAt: Timestamp?
}

/// The `krb5_expire_callback_func` handed to libkrb5: called once, after the KDC's reply, with
/// the password's and the account's expiry (0: none), its context in `data` (the `PromptRelay`,
/// held by the caller for the whole call).
func lkKrb5ExpireCallback(
    context: krb5_context?, data: UnsafeMutableRawPointer?, passwordExpiration: krb5_timestamp,
    accountExpiration: krb5_timestamp, isLastRequest: krb5_boolean
) {
    guard let data else { return }
    let relay = Unmanaged<PromptRelay>.fromOpaque(data).takeUnretainedValue()
    // krb5_timestamp is a signed 32-bit field read as unsigned (times past 2038).
    let seconds = Int(UInt32(bitPattern: passwordExpiration))
    relay.passwordExpiresAt = seconds == 0 ? nil : seconds
}
