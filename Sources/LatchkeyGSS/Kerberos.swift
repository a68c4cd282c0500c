internal import CGSSAPI
public import LatchkeyCore

/// The one door to Kerberos: SPNEGO tokens from a ticket cache, ticket status, sign-in with a
/// password (relaying every prompt) and renewal.
///
/// Every call blocks (network round trips to the KDC, cache files): run it off the cooperative
/// thread pool. Each call uses its own library context, so calls may run on several threads.
/// No password, token or ticket ever appears in a `KerberosError`.
public enum Kerberos {
    /// A fresh SPNEGO initial context token (gss_init_sec_context with the SPNEGO mech, mutual auth off,
    /// GSS_C_DELEG_FLAG off) for a host-based service name such as "HTTP@mail.example.org".
    ///
    /// Credentials come from the cache `cache` (a ccache name like "FILE:/tmp/x", "DIR:…",
    /// "KEYRING:…"; nil = the default, as KRB5CCNAME / krb5.conf say) for `principal` (nil = the
    /// cache's default principal). Every token is new and good for one request: servers keep a
    /// replay cache.
    public static func negotiateToken(
        service: String, principal: String?, cache: String?
    ) throws(KerberosError) -> Secret<[UInt8]> {
        var subject = KerberosError.Subject(principal: principal, cache: cache, service: service)
        let target: GSSName
        do {
            target = try GSSName(service, type: lk_gss_nt_hostbased_service())
        } catch {
            throw KerberosError(
                kind: .unknownServer,
                message: KerberosError.joined("the service name \(service) is not valid", error.description))
        }
        let desired: GSSName?
        do {
            desired = try principal.map { name throws(GSSError) in try GSSName(name, type: lk_gss_nt_user_name()) }
        } catch {
            throw KerberosError(
                kind: .other,
                message: KerberosError.joined("the principal name \(principal ?? "") is not valid", error.description))
        }

        // SPNEGO hides why it has no credential ("SPNEGO cannot find mechanisms to negotiate"):
        // ask the krb5 mechanism first, which says "No Kerberos credentials available" or
        // "Ticket expired". Just after expiry it still succeeds, with a lifetime of 0.
        let krb5Credential: GSSCredential
        do {
            krb5Credential = try GSSCredential(name: desired, mech: lk_gss_mech_krb5(), cache: cache)
        } catch {
            throw KerberosError.gss(error, subject: subject)
        }
        // The cache's principal names the realm in messages ("cannot reach the KDC for realm …").
        subject.principal = subject.principal ?? krb5Credential.principalName
        guard krb5Credential.lifetime > 0 else {
            throw KerberosError(
                kind: .expired, message: KerberosError.words(for: .expired, code: 0, subject: subject))
        }

        do {
            // A SPNEGO credential over the same cache, negotiating krb5 only.
            let credential = try GSSCredential(name: desired, mech: lk_gss_mech_spnego(), cache: cache)
            try credential.restrictNegotiation(to: lk_gss_mech_krb5())
            let token = try GSSInitiatorContext().firstToken(
                credential: credential, target: target, mech: lk_gss_mech_spnego(), flags: 0)
            return Secret(token)
        } catch {
            throw diagnose(error, credential: krb5Credential, target: target, subject: subject)
        }
    }

    /// Why SPNEGO failed, in the krb5 mechanism's words: the same step with the krb5 mech names
    /// the cause (an unknown service principal, an unreachable KDC, clock skew). Only on failure,
    /// so a normal token costs one context.
    private static func diagnose(
        _ spnegoError: GSSError, credential: GSSCredential, target: GSSName, subject: KerberosError.Subject
    ) -> KerberosError {
        do {
            _ = try GSSInitiatorContext().firstToken(
                credential: credential, target: target, mech: lk_gss_mech_krb5(), flags: 0)
        } catch {
            return KerberosError.gss(error, subject: subject)
        }
        return KerberosError.gss(spnegoError, subject: subject)
    }
}
