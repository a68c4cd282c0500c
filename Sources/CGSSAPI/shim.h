// GSSAPI (MIT krb5) for Swift: accessors for the mutable C globals and the macros Swift
// cannot import. Only LatchkeyGSS imports this module.
#ifndef LATCHKEY_CGSSAPI_SHIM_H
#define LATCHKEY_CGSSAPI_SHIM_H
#include <gssapi/gssapi.h>
#include <gssapi/gssapi_krb5.h>
#include <krb5/krb5.h>
#include <string.h>

static inline gss_OID lk_gss_nt_hostbased_service(void) { return GSS_C_NT_HOSTBASED_SERVICE; }
static inline gss_OID lk_gss_nt_user_name(void) { return GSS_C_NT_USER_NAME; }
static inline gss_OID lk_gss_mech_krb5(void) { return (gss_OID)gss_mech_krb5; }

// MIT krb5 exports no SPNEGO OID symbol: 1.3.6.1.5.5.2.
static inline gss_OID lk_gss_mech_spnego(void) {
    static gss_OID_desc spnego = {6, (void *)"\x2b\x06\x01\x05\x05\x02"};
    return &spnego;
}
static inline int lk_gss_is_error(OM_uint32 major) { return GSS_ERROR(major) ? 1 : 0; }
static inline int lk_gss_continue_needed(OM_uint32 major) { return (major & GSS_S_CONTINUE_NEEDED) ? 1 : 0; }
static inline OM_uint32 lk_gss_indefinite(void) { return GSS_C_INDEFINITE; }
// Routine errors (the major status's calling-error bits masked off) that LatchkeyGSS tells apart.
static inline OM_uint32 lk_gss_routine_error(OM_uint32 major) { return GSS_ROUTINE_ERROR(major); }
static inline OM_uint32 lk_gss_s_no_cred(void) { return GSS_S_NO_CRED; }
static inline OM_uint32 lk_gss_s_credentials_expired(void) { return GSS_S_CREDENTIALS_EXPIRED; }
static inline OM_uint32 lk_gss_s_bad_name(void) { return GSS_S_BAD_NAME; }
static inline OM_uint32 lk_gss_s_bad_nametype(void) { return GSS_S_BAD_NAMETYPE; }

// Zeroes a password buffer in a way the optimiser may not drop as a dead store.
static inline void lk_secure_zero(void *pointer, size_t count) { explicit_bzero(pointer, count); }
#endif
