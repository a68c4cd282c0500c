"""In-memory state of the test provider: users, clients, tokens, device codes, authorization
codes, settings, counters and fault switches. Everything is guarded by one re-entrant lock;
the Authlib models (ClientMixin, TokenMixin, AuthorizationCodeMixin, DeviceCredentialDict)
live here too.
"""

import hmac
import ipaddress
import secrets
import threading
import time
import uuid
from urllib.parse import urlsplit

from authlib.oauth2.rfc6749 import AuthorizationCodeMixin, ClientMixin, TokenMixin

TENANT_ID = "4f3c2b1a-0d9e-4c8b-a7f6-5e4d3c2b1a09"
DEFAULT_SCOPE = "openid profile offline_access"

DEFAULT_SETTINGS = {
    "access_token_lifetime": 3600,
    "device_code_lifetime": 300,
    "interval": 5,
    "microsoft": False,
    "block_device_code": False,
    "refresh_token_lifetime": 90 * 24 * 3600,
    # Entra ID's limits, short for tests (0: none). A refresh token unused this many seconds
    # dies of inactivity (AADSTS700082); a session older than `session_lifetime` seconds since
    # the interactive sign-in ends at its next refresh (AADSTS70043, stating the lifetime).
    "refresh_token_inactivity": 0,
    "session_lifetime": 0,
}

COUNTER_NAMES = (
    "device_authorization",
    "token_device_code",
    "token_refresh",
    "token_refresh_ok",
    "token_authorization_code",
    "revoke",
    "resource_ok",
    "resource_denied",
    "device_approved",
    "autodiscover_json",
    "autodiscover_pox",
    "service_ok",
    "service_denied",
    "exchange_online_probe",
    "entra_metadata_v2",
    "entra_metadata_v1",
)

FAULT_ENDPOINTS = ("token", "device_authorization", "discovery", "resource", "userinfo")
FAULT_MODES = ("status", "hang", "bad_json", "html", "empty", "drop", "rotate_then_fail", "json", "huge",
               "raw")


class User:
    def __init__(self, username, password, totp_secret, display_name):
        self.username = username
        self.password = password
        self.totp_secret = totp_secret
        self.name = display_name
        self.upn = f"{username}@contoso.example"
        # A stable object id per user, like Entra's oid.
        self.oid = str(uuid.uuid5(uuid.NAMESPACE_URL, f"latchkey-test:{username}"))

    def check_password(self, password):
        return hmac.compare_digest(self.password.encode(), (password or "").encode())


USERS = {
    "alice": User("alice", "correct horse battery staple", "JBSWY3DPEHPK3PXP", "Alice Example"),
    "bob": User("bob", "hunter2-but-longer", "KRSXG5CTMVRXEZLU", "Bob Example"),
}


class SignIn:
    """The resource owner as Authlib sees it: a user plus how they signed in."""

    def __init__(self, user, amr):
        self.user = user
        self.amr = list(amr)
        self.auth_time = int(time.time())

    def get_user_id(self):
        return self.user.oid


def is_loopback_redirect(uri):
    """RFC 8252 section 7.3: http on a loopback IP literal, any port."""
    try:
        parts = urlsplit(uri)
        if parts.scheme != "http" or parts.fragment:
            return False
        host = parts.hostname
        parts.port  # raises ValueError on a malformed port
        return host is not None and ipaddress.ip_address(host) in (
            ipaddress.ip_address("127.0.0.1"),
            ipaddress.ip_address("::1"),
        )
    except ValueError:
        return False


class Client(ClientMixin):
    def __init__(self, client_id, secret=None, redirect_uris=None):
        self.client_id = client_id
        self.secret = secret
        # None: any loopback redirect (RFC 8252); else only these (a web app's registration).
        self.redirect_uris = redirect_uris
        self.grant_types = {
            "urn:ietf:params:oauth:grant-type:device_code",
            "refresh_token",
            "authorization_code",
        }

    @property
    def public(self):
        return self.secret is None

    def get_client_id(self):
        return self.client_id

    def get_default_redirect_uri(self):
        return None  # a loopback redirect_uri must always be sent

    def get_allowed_scope(self, scope):
        # Any scope is allowed (Microsoft resources, openid, offline_access, ...).
        return scope if scope else DEFAULT_SCOPE

    def check_redirect_uri(self, redirect_uri):
        if self.redirect_uris is not None:
            return redirect_uri in self.redirect_uris
        return is_loopback_redirect(redirect_uri)

    def check_client_secret(self, client_secret):
        if self.secret is None:
            return False
        return hmac.compare_digest(self.secret.encode(), (client_secret or "").encode())

    def check_endpoint_auth_method(self, method, endpoint):
        if self.public:
            return method == "none"
        return method in ("client_secret_basic", "client_secret_post")

    def check_response_type(self, response_type):
        return response_type == "code"

    def check_grant_type(self, grant_type):
        return grant_type in self.grant_types


CLIENTS = {
    "latchkey-test": Client("latchkey-test"),
    "latchkey-confidential": Client("latchkey-confidential", "s3cret-client-value"),
    # An app registered for the web only: no loopback redirect, so the browser flow is refused
    # (AADSTS50011 in microsoft mode).
    "latchkey-web-only": Client("latchkey-web-only", redirect_uris=["https://app.contoso.example/signin"]),
}


class TokenRecord(TokenMixin):
    """One issuance: an access token (JWT) and, usually, a refresh token."""

    def __init__(self, token, client, signin, refresh_lifetime):
        now = time.time()
        self.access_token = token["access_token"]
        self.refresh_token = token.get("refresh_token")
        self.scope = token.get("scope", "")
        # RFC 6749 §6: a refresh token issued on refresh keeps the scope of the one it
        # replaces, even when the access token was asked for a narrower scope.
        self.refresh_scope = self.scope
        self.expires_in = int(token.get("expires_in", 0))
        self.issued_at = now
        self.refresh_expires_at = now + refresh_lifetime
        self.client_id = client.get_client_id()
        self.signin = signin
        self.access_revoked = False
        # None while usable; else why not: "rotated", "revoked", "admin".
        self.refresh_revoked = None

    # TokenMixin (the access token)
    def check_client(self, client):
        return client is not None and client.get_client_id() == self.client_id

    def get_scope(self):
        return self.scope

    def get_expires_in(self):
        return self.expires_in

    def is_expired(self):
        return time.time() >= self.issued_at + self.expires_in

    def is_revoked(self):
        return self.access_revoked

    def get_user(self):
        return self.signin

    def get_client(self):
        return CLIENTS.get(self.client_id)

    # the refresh token
    def refresh_problem(self, inactivity=0, session_lifetime=0):
        if self.refresh_revoked:
            return self.refresh_revoked
        now = time.time()
        if now >= self.refresh_expires_at:
            return "expired"
        # Every use rotates the refresh token, so its issue time is its last use.
        if inactivity and now - self.issued_at >= inactivity:
            return "inactive"
        if session_lifetime and self.signin is not None and now - self.signin.auth_time >= session_lifetime:
            return "session_lifetime"
        return None


class AuthorizationCode(AuthorizationCodeMixin):
    LIFETIME = 300

    def __init__(self, code, client_id, redirect_uri, scope, signin, code_challenge,
                 code_challenge_method):
        self.code = code
        self.client_id = client_id
        self.redirect_uri = redirect_uri
        self.scope = scope
        self.signin = signin
        self.code_challenge = code_challenge
        self.code_challenge_method = code_challenge_method
        self.expires_at = time.time() + self.LIFETIME

    def get_redirect_uri(self):
        return self.redirect_uri

    def get_scope(self):
        return self.scope

    def is_expired(self):
        return time.time() >= self.expires_at


class State:
    def __init__(self):
        self.lock = threading.RLock()
        # Serialises token-endpoint grants, so that validating and rotating a refresh token
        # is atomic (two concurrent uses of one refresh token: one wins, one invalid_grant).
        self.grant_lock = threading.Lock()
        self.reset()

    def reset(self):
        with self.lock:
            self.settings = dict(DEFAULT_SETTINGS)
            self.counters = {name: 0 for name in COUNTER_NAMES}
            self.counters["last_claims"] = None
            self.counters["last_refresh_token_reused"] = False
            self.by_access = {}
            self.by_refresh = {}
            self.devices = {}  # device_code -> DeviceCredentialDict
            self.device_by_user_code = {}  # user_code -> device_code
            self.user_grants = {}  # user_code -> (SignIn | None, approved)
            self.codes = {}  # authorization code -> AuthorizationCode
            self.faults = {}  # endpoint -> fault dict
            self.issued_codes = []  # (device_code, user_code) ever issued, for secret searches

    def count(self, name, n=1):
        with self.lock:
            self.counters[name] += n

    def set_counter(self, name, value):
        with self.lock:
            self.counters[name] = value

    def snapshot_counters(self):
        with self.lock:
            return dict(self.counters)

    def setting(self, name):
        with self.lock:
            return self.settings[name]

    # tokens
    def save_token(self, token, client, signin):
        with self.lock:
            record = TokenRecord(token, client, signin, self.settings["refresh_token_lifetime"])
            self.by_access[record.access_token] = record
            if record.refresh_token:
                self.by_refresh[record.refresh_token] = record
            return record

    def revoke_all_for_user(self, username):
        n = 0
        with self.lock:
            for record in set(self.by_access.values()) | set(self.by_refresh.values()):
                if record.signin is not None and record.signin.user.username == username:
                    record.access_revoked = True
                    if record.refresh_token and not record.refresh_revoked:
                        record.refresh_revoked = "admin"
                    n += 1
        return n

    # faults
    def set_fault(self, endpoint, fault):
        with self.lock:
            if fault is None:
                self.faults.pop(endpoint, None)
            else:
                self.faults[endpoint] = fault

    def take_fault(self, endpoint, grant_type=None):
        """The fault that applies to this request, if any; consumes one of its `count`."""
        with self.lock:
            fault = self.faults.get(endpoint)
            if fault is None:
                return None
            if fault["mode"] == "rotate_then_fail" and grant_type != "refresh_token":
                return None
            if fault.get("count") is not None:
                fault["count"] -= 1
                if fault["count"] <= 0:
                    del self.faults[endpoint]
            return dict(fault)


def new_secret(nbytes=32):
    return secrets.token_urlsafe(nbytes)
