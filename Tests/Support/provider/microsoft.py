"""Microsoft identity platform (Entra ID / AADSTS) response shapes for `microsoft` mode."""

import datetime
import uuid

# Default AADSTS code for each OAuth error name.
DEFAULT_CODES = {
    "authorization_pending": 70016,
    "slow_down": 70016,
    "expired_token": 70019,
    "access_denied": 65004,
    "invalid_grant": 70000,
    "invalid_client": 7000215,
    "unauthorized_client": 700016,
    "invalid_request": 900144,
    "invalid_scope": 70011,
    "unsupported_grant_type": 70003,
    "unsupported_token_type": 900144,
    "interaction_required": 50076,
    "consent_required": 65001,
    "login_required": 50058,
    "server_error": 50000,
    "temporarily_unavailable": 90033,
}

# Plain-words text per AADSTS code, close to what Entra ID says.
TEXTS = {
    50000: "There was an error issuing a token or an issue with our sign-in service.",
    50058: "A silent sign-in request was sent but no user is signed in.",
    50076: "Due to a configuration change made by your administrator, or because you moved to a "
           "new location, you must use multi-factor authentication to access the resource.",
    50079: "Due to a configuration change made by your administrator, or because you moved to a "
           "new location, you must enroll in multi-factor authentication to access the resource.",
    50126: "Error validating credentials due to invalid username or password.",
    50173: "The provided grant has expired due to it being revoked, a fresh auth token is needed. "
           "The user might have changed or reset their password.",
    53003: "Access has been blocked by Conditional Access policies. The access policy does not "
           "allow token issuance.",
    65001: "The user or administrator has not consented to use the application.",
    65004: "User declined to consent to access the app.",
    70000: "The provided grant is invalid or malformed.",
    70003: "The app requested an unsupported grant type.",
    70011: "The provided value for the input parameter 'scope' is not valid.",
    70016: "OAuth 2.0 device flow error. Authorization is pending. Continue polling.",
    70019: "Verification code expired.",
    70043: "The refresh token has expired or is invalid due to sign-in frequency checks by "
           "conditional access.",
    90033: "A transient error has occurred. Please try again.",
    700016: "Application was not found in the directory.",
    700082: "The refresh token has expired due to inactivity. The token was issued on a date "
            "and was inactive for more than the allowed time.",
    501481: "The Code_Verifier does not match the code_challenge supplied in the authorization "
            "request.",
    900144: "The request body must contain the required parameters.",
    7000215: "Invalid client secret provided.",
}


def timestamp():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%SZ")


def date(seconds):
    """A time as Entra ID's error texts state it."""
    return datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc).strftime("%m/%d/%Y %H:%M:%S")


def error_body(error, description=None, codes=None, text=None):
    """An OAuth error body as Entra ID writes it (`text`: one that states this case's numbers)."""
    codes = [int(c) for c in (codes or [DEFAULT_CODES.get(error, 90033)])]
    code = codes[0]
    text = text or TEXTS.get(code) or description or error.replace("_", " ")
    trace_id = str(uuid.uuid4())
    correlation_id = str(uuid.uuid4())
    ts = timestamp()
    return {
        "error": error,
        "error_description": f"AADSTS{code}: {text}\r\nTrace ID: {trace_id}\r\n"
                             f"Correlation ID: {correlation_id}\r\nTimestamp: {ts}",
        "error_codes": codes,
        "timestamp": ts,
        "trace_id": trace_id,
        "correlation_id": correlation_id,
        "error_uri": f"https://login.microsoftonline.com/error?code={code}",
    }


def device_authorization_body(data):
    """The v1 endpoint's device code response: strings, verification_url and a message."""
    return {
        "user_code": data["user_code"],
        "device_code": data["device_code"],
        "verification_url": data["verification_uri"],
        "expires_in": str(data["expires_in"]),
        "interval": str(data["interval"]),
        "message": f"To sign in, use a web browser to open the page {data['verification_uri']} "
                   f"and enter the code {data['user_code']} to authenticate.",
    }


def token_body(data):
    out = dict(data)
    if "expires_in" in out:
        out["expires_in"] = str(out["expires_in"])
        out["ext_expires_in"] = out["expires_in"]
    return out


# The hosts whose certificate the provider serves from the test CA (SNI), for --connect-to.
HOSTS = ("login.microsoftonline.com", "login.microsoftonline.us", "login.partner.microsoftonline.cn")
MULTI_TENANT = ("common", "organizations")


def v2_metadata(base, tenant, tenant_id):
    """An Entra authority's v2.0 OIDC metadata, as login.microsoftonline.com writes it: the
    issuer of a multi-tenant authority is the `{tenantid}` template."""
    named = "{tenantid}" if tenant.lower() in MULTI_TENANT else tenant_id
    root = f"{base}/{tenant}"
    return {
        "token_endpoint": f"{root}/oauth2/v2.0/token",
        "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt",
                                                  "client_secret_basic"],
        "jwks_uri": f"{root}/discovery/v2.0/keys",
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "issuer": f"{base}/{named}/v2.0",
        "request_uri_parameter_supported": False,
        "userinfo_endpoint": "https://graph.microsoft.com/oidc/userinfo",
        "authorization_endpoint": f"{root}/oauth2/v2.0/authorize",
        "device_authorization_endpoint": f"{root}/oauth2/v2.0/devicecode",
        "http_logout_supported": True,
        "frontchannel_logout_supported": True,
        "end_session_endpoint": f"{root}/oauth2/v2.0/logout",
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "tid", "ver", "oid", "email"],
        "kerberos_endpoint": f"{root}/kerberos",
        "tenant_region_scope": "EU",
        "cloud_instance_name": base.split("//", 1)[-1].split(".", 1)[-1],
        "cloud_graph_host_name": "graph.windows.net",
        "msgraph_host": "graph.microsoft.com",
        "rbac_url": "https://pas.windows.net",
    }


def v1_metadata(base, tenant, tenant_id):
    """The plain (v1) metadata: issuer on sts.windows.net, endpoints without /v2.0."""
    named = "{tenantid}" if tenant.lower() in MULTI_TENANT else tenant_id
    root = f"{base}/{tenant}"
    return {
        "token_endpoint": f"{root}/oauth2/token",
        "authorization_endpoint": f"{root}/oauth2/authorize",
        "device_authorization_endpoint": f"{root}/oauth2/devicecode",
        "issuer": f"https://sts.windows.net/{named}/",
        "jwks_uri": f"{base}/common/discovery/keys",
    }
