internal import CGSSAPI

/// What went wrong with Kerberos, in the terms the broker acts on.
public enum KerberosFailureKind: String, Sendable {
    /// No ticket cache, an empty one, or none for the principal: sign in.
    case noCredentials
    /// The ticket (or the password) has expired: sign in again.
    case expired
    /// No KDC of the realm answered: transient, retry later.
    case kdcUnreachable
    /// The KDC does not know the service principal (a wrong SPN or host name).
    case unknownServer
    /// This machine's clock and the KDC's differ by more than the allowed skew.
    case clockSkew
    /// The KDC refused the password.
    case wrongPassword
    /// The KDC (kpasswd) refused a new password, or the two entries differed.
    case passwordRejected
    /// The person cancelled a prompt.
    case cancelled
    /// Anything else; `message` carries the library's words.
    case other
}

/// A Kerberos or GSSAPI failure: a stable kind and plain words followed by the library's own
/// text. It never carries a password, an SPNEGO token or a ticket.
public struct KerberosError: Error, Sendable, Equatable, CustomStringConvertible {
    public var kind: KerberosFailureKind
    public var message: String

    public init(kind: KerberosFailureKind, message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }
}

// The classification works on krb5 error codes (`krb5_error_code`, the com_err tables). The
// krb5 GSS mechanism reports the same codes as its minor status, so one table serves both;
// the GSS major status adds `GSS_S_NO_CRED`, `GSS_S_CREDENTIALS_EXPIRED` and bad names.
extension KerberosError {
    /// The kind a krb5 error code belongs to, or nil when it has no special meaning.
    static func kind(ofKrb5 code: Int) -> KerberosFailureKind? {
        switch code {
        case KRB5_FCC_NOFILE, KRB5_CC_NOTFOUND, KRB5_CC_END:
            return .noCredentials
        case KRB5KRB_AP_ERR_TKT_EXPIRED, KRB5KDC_ERR_KEY_EXP, KRB5KDC_ERR_NAME_EXP:
            return .expired
        case KRB5_KDC_UNREACH, KRB5_REALM_CANT_RESOLVE, KRB5_REALM_UNKNOWN:
            return .kdcUnreachable
        case KRB5KDC_ERR_S_PRINCIPAL_UNKNOWN:
            return .unknownServer
        case KRB5KRB_AP_ERR_SKEW, KRB5_KDCREP_SKEW:
            return .clockSkew
        case KRB5KDC_ERR_PREAUTH_FAILED, KRB5KRB_AP_ERR_BAD_INTEGRITY:
            return .wrongPassword
        case KRB5_CHPW_FAIL, KRB5_CHPW_PWDNULL, KRB5_LIBOS_BADPWDMATCH:
            return .passwordRejected
        case KRB5_LIBOS_PWDINTR:
            return .cancelled
        default:
            return nil
        }
    }

    /// Plain words for a kind; `subject` names the principal, cache, service or realm concerned.
    static func words(for kind: KerberosFailureKind, code: Int, subject: Subject) -> String {
        switch kind {
        case .noCredentials:
            return "no Kerberos credentials for \(subject.whoAndWhere) (sign in to get a ticket)"
        case .expired where code == KRB5KDC_ERR_KEY_EXP:
            return "the password of \(subject.who) has expired and must be changed"
        case .expired:
            return "the Kerberos ticket of \(subject.whoAndWhere) has expired (sign in again)"
        case .kdcUnreachable:
            return "cannot reach the KDC for realm \(subject.realm ?? "of \(subject.who)")"
        case .unknownServer:
            return "the service \(subject.service ?? "requested") is not known to the KDC (wrong SPN?)"
        case .clockSkew:
            return "the clocks of this machine and the KDC differ too much (check time synchronisation)"
        case .wrongPassword:
            return "the KDC refused the password of \(subject.who)"
        case .passwordRejected:
            return "the new password for \(subject.who) was not accepted"
        case .cancelled:
            return "Kerberos sign-in for \(subject.who) was cancelled"
        case .other:
            if code == KRB5KDC_ERR_C_PRINCIPAL_UNKNOWN {
                return "the KDC does not know the principal \(subject.who) (check the user name)"
            }
            return "Kerberos failed for \(subject.who)"
        }
    }

    /// Whom and what an error is about, for its plain words.
    struct Subject {
        var principal: String?
        var cache: String?
        var service: String?

        /// The principal, or else the cache.
        var who: String {
            if let principal { return principal }
            if let cache { return "the cache \(cache)" }
            return "the default ticket cache"
        }

        /// The principal and the cache, where both matter (missing or expired tickets).
        var whoAndWhere: String {
            guard let principal, let cache else { return who }
            return "\(principal) in \(cache)"
        }

        /// The realm part of the principal, when there is one.
        var realm: String? {
            guard let principal, let at = principal.lastIndex(of: "@") else { return nil }
            return String(principal[principal.index(after: at)...])
        }
    }

    /// A krb5 failure with the library's text (`krb5_get_error_message`, read by the caller
    /// right after the failing call, on the same context).
    static func krb5(
        code: Int, libraryText: String, subject: Subject, override: KerberosFailureKind? = nil
    ) -> KerberosError {
        let kind = override ?? kind(ofKrb5: code) ?? .other
        return KerberosError(kind: kind, message: joined(words(for: kind, code: code, subject: subject), libraryText))
    }

    /// A GSSAPI failure: the minor status (a krb5 code for the krb5 mechanism) first, then the
    /// routine error.
    static func gss(_ error: GSSError, subject: Subject) -> KerberosError {
        let minorCode = Int(Int32(bitPattern: error.minor))
        let routine = lk_gss_routine_error(error.major)
        var kind = kind(ofKrb5: minorCode)
        if kind == nil {
            switch routine {
            case lk_gss_s_no_cred(): kind = .noCredentials
            case lk_gss_s_credentials_expired(): kind = .expired
            case lk_gss_s_bad_name(), lk_gss_s_bad_nametype(): kind = .unknownServer
            default: kind = .other
            }
        }
        let resolved = kind ?? .other
        // The mechanism's words are the specific ones; the routine's ("Unspecified GSS failure.
        // Minor code may provide more information") only when there are none.
        let text = error.minorText.isEmpty ? error.majorText : error.minorText
        let plain = words(for: resolved, code: minorCode, subject: subject)
        return KerberosError(kind: resolved, message: joined(plain, text))
    }

    static func joined(_ words: String, _ libraryText: String) -> String {
        libraryText.isEmpty ? words : "\(words): \(libraryText)"
    }
}
