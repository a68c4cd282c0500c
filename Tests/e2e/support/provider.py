"""Client side of the test provider (Tests/Support/provider/provider.py) for e2e tests.

    provider = Provider.from_env()        # LATCHKEY_TEST_PROVIDER_URL, LATCHKEY_TEST_CA
    provider.reset(); provider.configure(interval=1)
    provider.fault("token", "status", status=503, retry_after=2, count=1)
    person = provider.person("alice")
    person.approve_device(user_code)       # True when the provider approved it
    location = person.browser_login(authorization_url)   # the loopback redirect, not followed

Every HTTP call uses a requests.Session with trust_env = False (the test environment exports
REQUESTS_CA_BUNDLE and proxy variables that would otherwise override verify=).
"""

import base64
import hashlib
import json
import os
import secrets
from html.parser import HTMLParser
from urllib.parse import urlencode, urljoin

import pyotp
import requests

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
PUBLIC_CLIENT = "latchkey-test"
CONFIDENTIAL_CLIENT = "latchkey-confidential"
CONFIDENTIAL_SECRET = "s3cret-client-value"
TIMEOUT = 30

USERS = {
    "alice": {"password": "correct horse battery staple", "totp_secret": "JBSWY3DPEHPK3PXP",
              "upn": "alice@contoso.example"},
    "bob": {"password": "hunter2-but-longer", "totp_secret": "KRSXG5CTMVRXEZLU",
            "upn": "bob@contoso.example"},
}


class ProviderError(Exception):
    pass


class SignInError(ProviderError):
    """The provider refused the sign-in form (wrong password or TOTP, unknown code)."""

    def __init__(self, status, text):
        super().__init__(f"sign-in refused with HTTP {status}: {text}")
        self.status = status
        self.text = text


def new_session(ca):
    session = requests.Session()
    session.trust_env = False
    session.verify = ca
    return session


def pkce_pair():
    """(code_verifier, S256 code_challenge)."""
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def jwt_claims(token):
    """The claims of a JWT, unverified (for assertions only)."""
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


class Provider:
    """The test control API plus small helpers for the OAuth endpoints."""

    def __init__(self, url, ca):
        self.url = url.rstrip("/")
        self.ca = ca
        self.session = new_session(ca)

    @classmethod
    def from_env(cls):
        return cls(os.environ["LATCHKEY_TEST_PROVIDER_URL"], os.environ["LATCHKEY_TEST_CA"])

    # control API
    def _control(self, method, path, body=None):
        resp = self.session.request(method, self.url + path, json=body, timeout=TIMEOUT)
        if resp.status_code != 200:
            raise ProviderError(f"{method} {path}: HTTP {resp.status_code}: {resp.text}")
        return resp.json()

    def counters(self):
        return self._control("GET", "/_test/counters")

    def issued(self):
        """Every secret the provider issued since the last reset (tokens, refresh tokens,
        device and user codes), for secret searches."""
        return self._control("GET", "/_test/issued")

    def reset(self):
        return self._control("POST", "/_test/reset")

    def configure(self, **settings):
        """access_token_lifetime, device_code_lifetime, interval, microsoft, block_device_code
        (Conditional Access: AADSTS53003 at the device-code poll), refresh_token_lifetime;
        returns every current setting."""
        return self._control("POST", "/_test/config", settings)

    def settings(self):
        return self._control("GET", "/_test/config")

    def fault(self, endpoint, mode, **options):
        """endpoint: token | device_authorization | discovery | resource | userinfo; mode: status, hang,
        bad_json, html, empty, drop, rotate_then_fail, json (answer with `body`), huge (2 MiB),
        raw (answer with the exact `text`) or none; options: count, status, retry_after (a
        number, or a string sent as it is), error, error_codes, error_description, seconds,
        www_authenticate, body, text."""
        return self._control("POST", "/_test/fault",
                             {"endpoint": endpoint, "mode": mode, **options})

    def clear_fault(self, endpoint):
        return self.fault(endpoint, "none")

    def revoke_all_for_user(self, username):
        return self._control("POST", "/_test/revoke_all_for_user", {"username": username})

    # OAuth endpoints (answers are returned as they are, for assertions)
    def discovery(self):
        resp = self.session.get(self.url + "/.well-known/openid-configuration", timeout=TIMEOUT)
        resp.raise_for_status()
        return resp.json()

    def device_authorization(self, client_id=PUBLIC_CLIENT, scope="openid offline_access",
                             **extra):
        return self.session.post(self.url + "/device_authorization",
                                 data={"client_id": client_id, "scope": scope, **extra},
                                 timeout=TIMEOUT)

    def token(self, data, auth=None):
        return self.session.post(self.url + "/token", data=data, auth=auth, timeout=TIMEOUT)

    def poll(self, device_code, client_id=PUBLIC_CLIENT):
        return self.token({"grant_type": DEVICE_GRANT, "device_code": device_code,
                           "client_id": client_id})

    def refresh(self, refresh_token, client_id=PUBLIC_CLIENT, **extra):
        return self.token({"grant_type": "refresh_token", "refresh_token": refresh_token,
                           "client_id": client_id, **extra})

    def revoke(self, token, token_type_hint=None, client_id=PUBLIC_CLIENT):
        data = {"token": token, "client_id": client_id}
        if token_type_hint:
            data["token_type_hint"] = token_type_hint
        return self.session.post(self.url + "/revoke", data=data, timeout=TIMEOUT)

    def resource(self, access_token=None, path="/resource"):
        headers = {"Authorization": f"Bearer {access_token}"} if access_token else {}
        return self.session.get(self.url + path, headers=headers, timeout=TIMEOUT)

    def authorization_url(self, redirect_uri, code_challenge, client_id=PUBLIC_CLIENT,
                          scope="openid offline_access", state=None, **extra):
        params = {"response_type": "code", "client_id": client_id,
                  "redirect_uri": redirect_uri, "scope": scope,
                  "code_challenge": code_challenge, "code_challenge_method": "S256", **extra}
        if state is not None:
            params["state"] = state
        return f"{self.url}/authorize?{urlencode(params)}"

    def person(self, username="alice"):
        return Person(self.url, self.ca, username=username)


class _FormParser(HTMLParser):
    """The first <form> of a page: its method, action, and named inputs and buttons."""

    def __init__(self):
        super().__init__()
        self.form = None
        self.fields = []  # (name, value) of inputs (hidden and text)
        self.buttons = []  # (name, value)
        self.message = None
        self._in_form = False
        self._done = False
        self._in_message = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "p" and attrs.get("id") in ("message", "result"):
            self._in_message = True
            self.message = ""
        if self._done:
            return
        if tag == "form":
            self.form = {"method": (attrs.get("method") or "get").lower(),
                         "action": attrs.get("action") or ""}
            self._in_form = True
        elif self._in_form and tag == "input" and attrs.get("name"):
            if attrs.get("type", "text").lower() not in ("submit", "button", "image", "reset"):
                self.fields.append((attrs["name"], attrs.get("value") or ""))
            else:
                self.buttons.append((attrs["name"], attrs.get("value") or ""))
        elif self._in_form and tag == "button" and attrs.get("name"):
            self.buttons.append((attrs["name"], attrs.get("value") or ""))

    def handle_endtag(self, tag):
        if tag == "form" and self._in_form:
            self._in_form = False
            self._done = True
        if tag == "p":
            self._in_message = False

    def handle_data(self, data):
        if self._in_message:
            self.message += data


def parse_form(html):
    parser = _FormParser()
    parser.feed(html)
    parser.close()
    return parser


class Person:
    """Someone at a browser: opens the provider's pages, reads the form, types the
    password and the current code from their authenticator app, and presses a button."""

    def __init__(self, url, ca, username="alice", password=None, totp_secret=None):
        self.url = url.rstrip("/")
        self.ca = ca
        self.username = username
        user = USERS.get(username, {})
        self.password = password if password is not None else user.get("password")
        self.totp_secret = totp_secret if totp_secret is not None else user.get("totp_secret")
        self.session = new_session(ca)

    def _submit(self, page_url, page, values, button):
        form = parse_form(page.text)
        if form.form is None:
            raise ProviderError(f"no form on {page_url} (HTTP {page.status_code})")
        data = [(name, value) for name, value in form.fields if name not in values]
        data += [(name, value) for name, value in values.items()]
        if button not in form.buttons:
            raise ProviderError(f"the form on {page_url} has no button {button}")
        data.append(button)
        target = urljoin(page.url, form.form["action"] or page.url)
        if form.form["method"] == "post":
            return self.session.post(target, data=data, allow_redirects=False, timeout=TIMEOUT)
        return self.session.get(target, params=data, allow_redirects=False, timeout=TIMEOUT)

    def _credentials(self, username, password, totp_secret, totp):
        username = username if username is not None else self.username
        password = password if password is not None else self.password
        if totp is None:
            secret = totp_secret if totp_secret is not None else self.totp_secret
            totp = pyotp.TOTP(secret).now()
        return {"username": username, "password": password, "totp": totp}

    def open_device_page(self, user_code=None):
        params = {"user_code": user_code} if user_code else None
        return self.session.get(self.url + "/device", params=params, timeout=TIMEOUT)

    def approve_device(self, user_code, username=None, password=None, totp_secret=None,
                       totp=None):
        """Sign in on the verification page and approve; True when the provider approved.
        `totp` overrides the code computed from `totp_secret` (e.g. a wrong one)."""
        page = self.open_device_page(user_code)
        page.raise_for_status()
        values = {"user_code": user_code,
                  **self._credentials(username, password, totp_secret, totp)}
        resp = self._submit(page.url, page, values, ("action", "approve"))
        return resp.status_code == 200 and 'data-result="approved"' in resp.text

    def deny_device(self, user_code):
        """Press "deny" for this code; True when the provider recorded the denial."""
        page = self.open_device_page(user_code)
        page.raise_for_status()
        resp = self._submit(page.url, page, {"user_code": user_code}, ("action", "deny"))
        return resp.status_code == 200 and 'data-result="denied"' in resp.text

    def browser_login(self, authorization_url, username=None, password=None, totp_secret=None,
                      totp=None, deny=False):
        """Follow the authorization URL, sign in on its form and approve (or deny); return the
        redirect Location (to the loopback redirect_uri) without following it. Raises
        SignInError when the provider refuses the sign-in or answers without a redirect."""
        page = self.session.get(authorization_url, allow_redirects=False, timeout=TIMEOUT)
        if page.is_redirect:
            return page.headers["Location"]  # e.g. an error redirect for a bad request
        if page.status_code != 200:
            raise SignInError(page.status_code, page.text)
        if deny:
            resp = self._submit(page.url, page, {}, ("action", "deny"))
        else:
            resp = self._submit(page.url, page,
                                self._credentials(username, password, totp_secret, totp),
                                ("action", "approve"))
        if not resp.is_redirect:
            raise SignInError(resp.status_code, parse_form(resp.text).message or resp.text)
        return resp.headers["Location"]
