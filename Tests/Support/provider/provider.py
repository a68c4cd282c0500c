#!/usr/bin/env python3
"""Latchkey's OAuth 2.0 / OIDC test provider: Flask + Authlib's AuthorizationServer with real
grants (RFC 8628 device code, refresh token with rotation, authorization code + PKCE S256)
and RFC 7009 revocation, JWT access tokens (RS256), a protected resource, Microsoft identity
platform shapes, Exchange Autodiscover (v2 JSON and POX XML) with an Exchange-like protected
service, and fault injection driven by a JSON control API under /_test/.

    provider.py --port N --cert server.pem --key server.key [--host 127.0.0.1]

It logs one line per request (method, path, status) and never a token, code or secret.
"""

import argparse
import ipaddress
import json
import socket
import ssl
import sys
import threading
import time
from urllib.parse import quote, urlsplit

import pyotp
from flask import Flask, Response, g, request
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, RSAKey
from werkzeug.serving import ThreadedWSGIServer, WSGIRequestHandler

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749.errors import InvalidScopeError
from authlib.oauth2.rfc6749.util import scope_to_list
from authlib.oauth2.rfc6749 import InvalidGrantError, InvalidRequestError, OAuth2Error
from authlib.oauth2.rfc6749.grants import AuthorizationCodeGrant, RefreshTokenGrant
from authlib.oauth2.rfc6750 import BearerTokenValidator
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oauth2.rfc8628 import (DeviceAuthorizationEndpoint, DeviceCodeGrant,
                                    DeviceCredentialDict)
from authlib.oauth2.rfc9068 import JWTBearerTokenGenerator

import exchange
import microsoft
import pages
from state import (CLIENTS, FAULT_ENDPOINTS, FAULT_MODES, TENANT_ID, USERS, AuthorizationCode,
                   SignIn, State, new_secret)

REALM = "latchkey-test"
MFA_AMR = ["pwd", "mfa"]
# A poll that arrives this much earlier than `interval` still counts as on time (network and
# timer jitter); anything sooner gets slow_down.
SLOW_DOWN_TOLERANCE = 0.1


def ms_code(code, text=None):
    """Remember which AADSTS code (and, when it states numbers, which text) this request's
    error should carry in microsoft mode."""
    g.ms_code = code
    g.ms_text = text


def check_totp(secret, code):
    code = (code or "").strip().replace(" ", "")
    return code.isdigit() and pyotp.TOTP(secret).verify(code, valid_window=1)


def authenticate_person(form):
    """username + password + current TOTP -> SignIn, or None."""
    user = USERS.get((form.get("username") or "").strip())
    if user is None or not user.check_password(form.get("password")):
        return None
    if not check_totp(user.totp_secret, form.get("totp")):
        return None
    return SignIn(user, MFA_AMR)


def normalize_user_code(value):
    code = "".join(ch for ch in (value or "").upper() if ch.isalnum())
    return f"{code[:4]}-{code[4:]}" if len(code) == 8 else code


def create_app(issuer):
    state = State()
    signing_key = RSAKey.generate_key(2048, parameters={"use": "sig", "alg": "RS256"},
                                      auto_kid=True)
    signing_keys = KeySet([signing_key])
    public_jwks = signing_keys.as_dict(private=False)
    verify_keys = KeySet.import_key_set(public_jwks)

    app = Flask("latchkey-test-provider")
    app.config["OAUTH2_REFRESH_TOKEN_GENERATOR"] = True
    app.json.sort_keys = False

    # ----------------------------------------------------------------- Authlib plumbing

    def query_client(client_id):
        return CLIENTS.get(client_id)

    def save_token(token, req):
        record = state.save_token(token, req.client, req.user)
        previous = getattr(req, "refresh_token", None)
        if previous is not None and hasattr(previous, "refresh_scope"):
            record.refresh_scope = previous.refresh_scope

    server = AuthorizationServer(app, query_client=query_client, save_token=save_token)

    class AccessTokenGenerator(JWTBearerTokenGenerator):
        """RFC 9068 JWT access tokens with the claims Entra ID puts in its tokens."""

        def get_jwks(self):
            return signing_keys

        def get_amr(self, user):
            return user.amr if user else None

        def get_auth_time(self, user):
            return user.auth_time if user else None

        def get_extra_claims(self, client, grant_type, user, scope):
            claims = {"scp": scope or "", "tid": TENANT_ID, "ver": "2.0"}
            if user is not None:
                claims.update(upn=user.user.upn, oid=user.user.oid, name=user.user.name,
                              preferred_username=user.user.upn)
            return claims

    server.register_token_generator("default", AccessTokenGenerator(
        issuer=issuer,
        refresh_token_generator=lambda **kw: new_secret(36),
        expires_generator=lambda client, grant_type: state.setting("access_token_lifetime"),
    ))

    class DeviceEndpoint(DeviceAuthorizationEndpoint):
        CLIENT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]

        @property
        def EXPIRES_IN(self):  # noqa: N802 (Authlib's attribute name)
            return state.setting("device_code_lifetime")

        @property
        def INTERVAL(self):  # noqa: N802
            return state.setting("interval")

        def get_verification_uri(self):
            return issuer + "/device"

        def generate_user_code(self):
            while True:
                code = super().generate_user_code()
                if code not in state.device_by_user_code:
                    return code

        def save_device_credential(self, client_id, scope, data):
            credential = DeviceCredentialDict(
                client_id=client_id, scope=scope, expires_at=time.time() + data["expires_in"],
                last_poll=None, **data)
            with state.lock:
                state.devices[data["device_code"]] = credential
                state.issued_codes.append((data["device_code"], data["user_code"]))
                state.device_by_user_code[data["user_code"]] = data["device_code"]

    class DeviceGrant(DeviceCodeGrant):
        def query_device_credential(self, device_code):
            now = time.time()
            with state.lock:
                stored = state.devices.get(device_code)
                if stored is None:
                    raise InvalidGrantError("The device_code is unknown or was already used.")
                previous = stored["last_poll"]
                stored["last_poll"] = now
                credential = DeviceCredentialDict(stored)
            credential["previous_poll"] = previous
            return credential

        def query_user_grant(self, user_code):
            with state.lock:
                return state.user_grants.get(user_code)

        def should_slow_down(self, credential):
            previous = credential.get("previous_poll")
            return (previous is not None
                    and time.time() - previous < credential["interval"] - SLOW_DOWN_TOLERANCE)

        def validate_token_request(self):
            try:
                super().validate_token_request()
            except OAuth2Error as error:
                if error.error == "access_denied":
                    error.description = "The end user denied the authorization request."
                raise

        def create_token_response(self):
            result = super().create_token_response()
            # A device code is good for one token response.
            credential = self.request.credential
            with state.lock:
                state.devices.pop(credential["device_code"], None)
                state.device_by_user_code.pop(credential["user_code"], None)
                state.user_grants.pop(credential["user_code"], None)
            return result

    class RefreshGrant(RefreshTokenGrant):
        TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]
        INCLUDE_NEW_REFRESH_TOKEN = True

        def authenticate_refresh_token(self, refresh_token):
            with state.lock:
                record = state.by_refresh.get(refresh_token)
                problem = record.refresh_problem(state.settings["refresh_token_inactivity"],
                                                 state.settings["session_lifetime"]) if record else "unknown"
                if problem is None:
                    return record
                if problem == "rotated":
                    state.counters["last_refresh_token_reused"] = True
            if problem == "rotated":
                ms_code(70000)
                raise InvalidGrantError("The refresh token was already used (it was rotated).")
            if problem == "admin":
                ms_code(50173)
                raise InvalidGrantError("The refresh token was revoked by an administrator.")
            if problem == "revoked":
                ms_code(70000)
                raise InvalidGrantError("The refresh token was revoked.")
            if problem == "expired":
                ms_code(700082)
                raise InvalidGrantError("The refresh token has expired.")
            if problem == "inactive":
                inactivity = state.setting("refresh_token_inactivity")
                text = (f"The refresh token has expired due to inactivity. The token was issued on "
                        f"{microsoft.date(record.issued_at)} and was inactive for {inactivity} seconds.")
                ms_code(700082, text)
                raise InvalidGrantError(text)
            if problem == "session_lifetime":
                lifetime = state.setting("session_lifetime")
                text = (f"The refresh token has expired or is invalid due to sign-in frequency checks by "
                        f"conditional access. The token was issued on {microsoft.date(record.signin.auth_time)} "
                        f"and the maximum allowed lifetime for this request is {lifetime}.")
                ms_code(70043, text)
                raise InvalidGrantError(text)
            ms_code(70000)
            raise InvalidGrantError("The refresh token is invalid.")

        def authenticate_user(self, record):
            return record.signin


        def revoke_old_credential(self, record):
            with state.lock:
                if not record.refresh_revoked:
                    record.refresh_revoked = "rotated"

        def _validate_token_scope(self, token):
            # Entra ID refresh tokens are multi-resource: any scope may be asked for.
            if state.setting("microsoft"):
                return
            # Elsewhere a refresh may ask for any part of what the refresh token was granted;
            # the rotated token keeps that grant (RFC 6749 §6), not the narrower request's.
            scope = self.request.payload.scope
            if scope and not set(scope_to_list(token.refresh_scope)).issuperset(set(scope_to_list(scope))):
                raise InvalidScopeError()

    class CodeGrant(AuthorizationCodeGrant):
        TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]

        def save_authorization_code(self, code, req):
            item = AuthorizationCode(
                code=code, client_id=req.client.get_client_id(),
                redirect_uri=req.payload.redirect_uri, scope=req.scope, signin=req.user,
                code_challenge=req.payload.data.get("code_challenge"),
                code_challenge_method=req.payload.data.get("code_challenge_method"))
            with state.lock:
                state.codes[code] = item

        def query_authorization_code(self, code, client):
            with state.lock:
                item = state.codes.get(code)
            if item and item.client_id == client.get_client_id() and not item.is_expired():
                return item
            return None

        def delete_authorization_code(self, item):
            with state.lock:
                state.codes.pop(item.code, None)

        def authenticate_user(self, item):
            return item.signin

    class S256CodeChallenge(CodeChallenge):
        """PKCE, S256 only, and a code_challenge is required on every authorization request."""

        SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]

        def validate_code_challenge(self, grant, redirect_uri):
            super().validate_code_challenge(grant, redirect_uri)
            data = grant.request.payload.data
            if not data.get("code_challenge"):
                raise InvalidRequestError("Missing 'code_challenge' (PKCE is required).")
            if data.get("code_challenge_method") != "S256":
                raise InvalidRequestError("'code_challenge_method' must be S256.")

        def validate_code_verifier(self, grant, result):
            try:
                super().validate_code_verifier(grant, result)
            except InvalidGrantError:
                ms_code(501481)
                raise

    class Revocation(RevocationEndpoint):
        CLIENT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]

        def query_token(self, token_string, token_type_hint):
            with state.lock:
                access = state.by_access.get(token_string)
                refresh = state.by_refresh.get(token_string)
            if token_type_hint == "refresh_token":
                return refresh or access
            return access or refresh

        def revoke_token(self, record, req):
            with state.lock:
                if req.form.get("token") == record.refresh_token:
                    # Revoking a refresh token ends the grant: its access token goes too.
                    if not record.refresh_revoked:
                        record.refresh_revoked = "revoked"
                record.access_revoked = True

    server.register_endpoint(DeviceEndpoint)
    server.register_endpoint(Revocation)
    server.register_grant(DeviceGrant)
    server.register_grant(RefreshGrant)
    server.register_grant(CodeGrant, [S256CodeChallenge(required=True)])

    class AccessTokenValidator(BearerTokenValidator):
        """Resource-server check: a JWT we signed, from us, and still live server side."""

        def authenticate_token(self, token_string):
            try:
                claims = jwt.decode(token_string, verify_keys, algorithms=["RS256"]).claims
            except (JoseError, ValueError):
                return None
            if claims.get("iss") != issuer:
                return None
            with state.lock:
                return state.by_access.get(token_string)

    validator = AccessTokenValidator(realm=REALM)

    def check_bearer():
        """(record, None) or (None, www_authenticate_value)."""
        authorize_uri = issuer + "/authorize"
        header = request.headers.get("Authorization")
        if not header:
            return None, f'Bearer realm="{REALM}", authorization_uri="{authorize_uri}"'
        scheme, _, token_string = header.partition(" ")
        record = None
        if scheme.lower() == "bearer" and token_string.strip():
            record = validator.authenticate_token(token_string.strip())
        try:
            validator.validate_token(record, None, request)
        except OAuth2Error:
            return None, (f'Bearer realm="{REALM}", error="invalid_token", '
                          f'authorization_uri="{authorize_uri}"')
        return record, None

    # ----------------------------------------------------------------- request pipeline

    def fault_endpoint(path):
        if path == "/token":
            return "token"
        if path == "/device_authorization":
            return "device_authorization"
        if path.startswith("/.well-known/"):
            return "discovery"
        if path == "/resource":
            return "resource"
        if path == "/userinfo":
            return "userinfo"  # what the mail servers ask: a fault makes them refuse a token
        return None

    def json_response(data, status=200, headers=None):
        resp = Response(json.dumps(data), status=status, mimetype="application/json")
        resp.headers["Cache-Control"] = "no-store"
        for key, value in (headers or {}).items():
            resp.headers[key] = value
        return resp

    def error_response(status, error, description=None, codes=None, retry_after=None,
                       endpoint=None):
        if state.setting("microsoft") or codes:
            body = microsoft.error_body(error, description, codes)
        else:
            body = {"error": error,
                    "error_description": description or f"Injected {status} response."}
        headers = {}
        if retry_after is not None:
            headers["Retry-After"] = str(retry_after)
        if endpoint == "resource" and status == 401:
            headers["WWW-Authenticate"] = (f'Bearer realm="{REALM}", error="{error}", '
                                           f'authorization_uri="{issuer}/authorize"')
        return json_response(body, status, headers)

    def default_fault_error(status, endpoint):
        if endpoint in ("resource", "userinfo") and status == 401:
            return "invalid_token"
        if status == 400:
            return "invalid_request"
        if status == 401:
            return "invalid_client"
        if status == 500:
            return "server_error"
        if status in (429, 502, 503, 504):
            return "temporarily_unavailable"
        return "server_error"

    def fault_response(fault, endpoint):
        mode = fault["mode"]
        status = fault.get("status")
        retry = {"Retry-After": str(fault["retry_after"])} if "retry_after" in fault else {}
        if mode in ("status", "rotate_then_fail"):
            status = status or 500
            resp = error_response(status, fault.get("error") or default_fault_error(status, endpoint),
                                  fault.get("error_description"), fault.get("error_codes"),
                                  fault.get("retry_after"), endpoint)
            if fault.get("www_authenticate"):
                resp.headers["WWW-Authenticate"] = fault["www_authenticate"]
            return resp
        if mode == "bad_json":
            return Response('{"access_token": ', status=status or 200,
                            mimetype="application/json", headers=retry)
        if mode == "json":
            # An answer that is valid JSON but says something absurd (expires_in -5, a
            # missing access_token, a token that is not a JWT…).
            return json_response(fault["body"], status or 200, retry)
        if mode == "raw":
            # Bytes no JSON library writes: leading zeros, 1e400, a member given twice.
            return Response(fault["text"].encode(), status=status or 200,
                            mimetype="application/json", headers=retry)
        if mode == "huge":
            # Two MiB of otherwise valid JSON: a client must cut it off at its cap.
            return json_response({"access_token": "x" * (2 << 20), "token_type": "Bearer",
                                  "expires_in": 3600}, status or 200, retry)
        if mode == "html":
            status = status or 200
            return Response(pages.fault_html(status), status=status,
                            content_type="text/html; charset=utf-8", headers=retry)
        if mode == "empty":
            return Response(b"", status=status or 200, mimetype="application/json",
                            headers=retry)
        if mode == "drop":
            request.environ["latchkey.dropped"] = True
            sock = request.environ.get("werkzeug.socket")
            if sock is not None:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            # werkzeug's attempt to write this fails quietly on the closed socket.
            return Response(b"", status=500)
        return None

    @app.before_request
    def before():
        g.faulted = False
        path = request.path
        if path.startswith("/_test/"):
            try:
                remote = ipaddress.ip_address(request.remote_addr or "")
            except ValueError:
                remote = None
            if remote is None or not remote.is_loopback:
                return json_response({"error": "forbidden"}, 403)
            return None

        grant_type = request.form.get("grant_type") if path == "/token" else None
        if path == "/token":
            if grant_type == "urn:ietf:params:oauth:grant-type:device_code":
                state.count("token_device_code")
            elif grant_type == "refresh_token":
                state.count("token_refresh")
            elif grant_type == "authorization_code":
                state.count("token_authorization_code")
        elif path == "/device_authorization":
            state.count("device_authorization")
        elif path == "/revoke":
            state.count("revoke")
        if path in ("/token", "/authorize", "/device_authorization"):
            claims = request.values.get("claims")
            if claims is not None:
                state.set_counter("last_claims", claims)

        endpoint = fault_endpoint(path)
        if endpoint is None:
            return None
        fault = state.take_fault(endpoint, grant_type)
        if fault is None:
            return None
        if fault["mode"] == "hang":
            time.sleep(float(fault.get("seconds", 10)))
            if "status" not in fault:
                return None  # a slow provider: the request is then served normally
            # A provider that never processed the request: after the hang, an error answer
            # (the client has usually given up by then), and no grant happened.
            g.faulted = True
            return fault_response(dict(fault, mode="status"), endpoint)
        g.faulted = True
        if fault["mode"] == "rotate_then_fail":
            g.rotate_then_fail = fault
            return None
        return fault_response(fault, endpoint)

    @app.after_request
    def after(resp):
        """microsoft mode: reshape the OAuth endpoints' JSON answers as Entra ID does."""
        if g.get("faulted") or not state.setting("microsoft"):
            return resp
        if request.path not in ("/token", "/device_authorization", "/revoke", "/authorize"):
            return resp
        if resp.mimetype != "application/json" or resp.direct_passthrough:
            return resp
        try:
            data = json.loads(resp.get_data())
        except ValueError:
            return resp
        if not isinstance(data, dict):
            return resp
        if resp.status_code >= 400 and "error" in data:
            code = g.get("ms_code")
            if code is None and data["error"] == "invalid_client" and \
                    "does not exist" in (data.get("error_description") or ""):
                code = 700016
            data = microsoft.error_body(data["error"], data.get("error_description"),
                                        [code] if code else None, text=g.get("ms_text"))
        elif resp.status_code == 200 and request.path == "/device_authorization":
            data = microsoft.device_authorization_body(data)
        elif resp.status_code == 200 and request.path == "/token":
            data = microsoft.token_body(data)
        else:
            return resp
        resp.set_data(json.dumps(data))
        return resp

    # ----------------------------------------------------------------- discovery, keys

    def metadata():
        return {
            "issuer": issuer,
            "authorization_endpoint": issuer + "/authorize",
            "token_endpoint": issuer + "/token",
            "device_authorization_endpoint": issuer + "/device_authorization",
            "revocation_endpoint": issuer + "/revoke",
            "jwks_uri": issuer + "/jwks",
            "userinfo_endpoint": issuer + "/userinfo",
            "grant_types_supported": ["authorization_code", "refresh_token",
                                      "urn:ietf:params:oauth:grant-type:device_code"],
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "code_challenge_methods_supported": ["S256"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "token_endpoint_auth_methods_supported": ["none", "client_secret_post",
                                                      "client_secret_basic"],
            "revocation_endpoint_auth_methods_supported": ["none", "client_secret_post",
                                                           "client_secret_basic"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "claims_parameter_supported": True,
            "claims_supported": ["sub", "iss", "aud", "exp", "iat", "upn", "scp", "tid", "amr",
                                 "name", "preferred_username", "oid"],
        }

    @app.get("/.well-known/openid-configuration")
    @app.get("/.well-known/oauth-authorization-server")
    def discovery():
        return json_response(metadata())

    @app.get("/jwks")
    def jwks():
        return json_response(public_jwks)

    # ----------------------------------------------------------------- OAuth endpoints

    @app.post("/device_authorization")
    def device_authorization():
        return server.create_endpoint_response(DeviceEndpoint.ENDPOINT_NAME)

    @app.post("/token")
    def token():
        blocked = conditional_access_block()
        if blocked is not None:
            return blocked
        with state.grant_lock:
            resp = server.create_token_response()
        fault = g.get("rotate_then_fail")
        if fault is not None:
            # The grant happened (and rotated); the answer is lost.
            return fault_response(fault, "token")
        if resp.status_code == 200 and request.form.get("grant_type") == "refresh_token":
            state.count("token_refresh_ok")
        return resp

    def conditional_access_block():
        """`block_device_code`: Conditional Access refuses the device-code flow as Entra ID does —
        the person signs in on the device page, then the token poll answers invalid_grant with
        AADSTS53003 (the grant is used up)."""
        if request.form.get("grant_type") != "urn:ietf:params:oauth:grant-type:device_code" \
                or not state.setting("block_device_code"):
            return None
        with state.lock:
            device_code = request.form.get("device_code") or ""
            credential = state.devices.get(device_code)
            user_code = credential["user_code"] if credential else None
            grant = state.user_grants.get(user_code) if user_code else None
            if grant is None or not grant[1]:
                return None  # not signed in on the device page yet: authorization_pending
            state.devices.pop(device_code, None)
            state.device_by_user_code.pop(user_code, None)
            state.user_grants.pop(user_code, None)
        g.ms_code = 53003
        return error_response(400, "invalid_grant", codes=[53003])

    @app.post("/revoke")
    def revoke():
        return server.create_endpoint_response(Revocation.ENDPOINT_NAME)

    @app.get("/device")
    def device_page():
        return pages.device_form(user_code=normalize_user_code(request.args.get("user_code")))

    @app.post("/device")
    def device_submit():
        form = request.form
        user_code = normalize_user_code(form.get("user_code"))
        action = form.get("action", "approve")
        with state.lock:
            device_code = state.device_by_user_code.get(user_code)
            credential = state.devices.get(device_code) if device_code else None
        if credential is None or credential.is_expired():
            return pages.device_form(user_code=user_code, status=400, error=True,
                                     message="That code is unknown or has expired.")
        with state.lock:
            if user_code in state.user_grants:
                return pages.error_page("Already answered",
                                        "This code has already been approved or denied.", 409)
        if action == "deny":
            with state.lock:
                state.user_grants[user_code] = (None, False)
            return pages.result_page("Request denied", "denied",
                                     "You denied the sign-in request.")
        signin = authenticate_person(form)
        if signin is None:
            text = "sign-in failed: wrong username, password or authenticator code."
            if state.setting("microsoft"):
                text += " (AADSTS50126)"
            return pages.device_form(user_code=user_code, status=401, error=True, message=text,
                                     login_hint=form.get("username", ""))
        with state.lock:
            state.user_grants[user_code] = (signin, True)
            state.counters["device_approved"] += 1
        return pages.result_page("Device approved", "approved",
                                 "Device approved. You can close this window.")

    def authorize_hidden_fields(values):
        skip = {"username", "password", "totp", "action"}
        return [(k, v) for k, v in values.items(multi=True) if k not in skip]

    def entra_authorize_error():
        """microsoft mode: Entra ID shows its error page (HTTP 200) for a client id it does
        not know (AADSTS700016) and for a redirect URI the app has not registered (AADSTS50011)."""
        if not state.setting("microsoft"):
            return None
        client_id = request.args.get("client_id", "")
        redirect_uri = request.args.get("redirect_uri", "")
        client = CLIENTS.get(client_id)
        if client is None:
            text = (f"AADSTS700016: Application with identifier '{client_id}' was not found in the directory "
                    f"'{TENANT_ID}'. This can happen if the application has not been installed by the administrator "
                    "of the tenant or consented to by any user in the tenant.")
        elif not client.check_redirect_uri(redirect_uri):
            text = (f"AADSTS50011: The redirect URI '{redirect_uri}' specified in the request does not match "
                    f"the redirect URIs configured for the application '{client_id}'.")
        else:
            return None
        return pages.error_page("Sign in", "Sorry, but we're having trouble signing you in. " + text, 200)

    @app.get("/authorize")
    def authorize_page():
        refused = entra_authorize_error()
        if refused is not None:
            return refused
        try:
            grant = server.get_consent_grant(end_user=None)
        except OAuth2Error as error:
            return server.handle_error_response(None, error)
        return pages.authorize_form(authorize_hidden_fields(request.args),
                                    client_id=grant.client.get_client_id(),
                                    scope=grant.request.scope,
                                    login_hint=request.args.get("login_hint", ""))

    @app.post("/authorize")
    def authorize_submit():
        try:
            grant = server.get_consent_grant(end_user=None)
        except OAuth2Error as error:
            return server.handle_error_response(None, error)
        if request.form.get("action") == "deny":
            return server.create_authorization_response(grant_user=None, grant=grant)
        signin = authenticate_person(request.form)
        if signin is None:
            text = "sign-in failed: wrong username, password or authenticator code."
            if state.setting("microsoft"):
                text += " (AADSTS50126)"
            return pages.authorize_form(authorize_hidden_fields(request.form),
                                        client_id=grant.client.get_client_id(),
                                        scope=grant.request.scope, status=401, error=True,
                                        message=text, login_hint=request.form.get("username", ""))
        return server.create_authorization_response(grant_user=signin, grant=grant)

    # ----------------------------------------------------------------- protected resources

    @app.get("/resource")
    def resource():
        record, challenge = check_bearer()
        if record is None:
            state.count("resource_denied")
            return json_response({"ok": False, "error": "unauthorized"}, 401,
                                 {"WWW-Authenticate": challenge})
        state.count("resource_ok")
        return json_response({"ok": True, "sub": record.signin.get_user_id(),
                              "scope": record.scope})

    @app.get("/userinfo")
    def userinfo():
        record, challenge = check_bearer()
        if record is None:
            return json_response({"error": "invalid_token"}, 401,
                                 {"WWW-Authenticate": challenge})
        user = record.signin.user
        return json_response({"sub": user.oid, "name": user.name, "upn": user.upn,
                              "preferred_username": user.upn, "email": user.upn,
                              "tid": TENANT_ID})

    # ----------------------------------------------------------------- Exchange Autodiscover
    #
    # Behaviour by the address's domain (case-insensitive); `local` is the part before '@'.
    #   v2 GET /autodiscover/autodiscover.json/v1.0/<email>?Protocol=ActiveSync|EWS
    #     contoso.example    200 {"Protocol", "Url"}: {base}/Microsoft-Server-ActiveSync or
    #                        {base}/EWS/Exchange.asmx
    #     moved.example      302 to the v2 URL of {local}@contoso.example
    #     loop.example       302 to the very same URL (a redirect loop)
    #     plain.example      302 to http:// (not https) for {local}@contoso.example
    #     html.example       200 text/html (a sign-in page)
    #     anything else      404 {"ErrorCode": "NotFound"}; a bad Protocol: 400 InvalidProtocol
    #   POX POST /autodiscover/autodiscover.xml (mobilesync or outlook response schema)
    #     pox.example, contoso.example   settings
    #     poxmoved.example   redirect to {local}@pox.example (Redirect / redirectAddr)
    #     poxurl.example     outlook: redirectUrl {base}/autodiscover/moved/autodiscover.xml
    #                        (which answers settings for any address); mobilesync: error
    #     loop.example       outlook: redirectUrl to itself; mobilesync: Redirect to itself
    #     html.example       200 text/html
    #     asurl.example      outlook: settings whose only URL is ASUrl (Availability); mobilesync: error
    #     comments.example, cdata.example   ~1 MiB of `<!--` / nested `<![CDATA[` (exchange.hostile_pox)
    #     anything else      the schema's error; unreadable body: 400 ErrorCode 600;
    #                        unknown response schema: ErrorCode 600 (200)

    POX_MAX_BODY = 64 * 1024
    issuer_parts = urlsplit(issuer)
    plain_base = "http://" + issuer_parts.netloc

    def v2_url(base, email, protocol):
        return (f"{base}{exchange.V2_PATH}{quote(email, safe='@+')}"
                f"?Protocol={quote(protocol, safe='')}")

    def html_sign_in():
        resp = Response(pages.sign_in_html(), content_type="text/html; charset=utf-8")
        resp.headers["Cache-Control"] = "no-store"
        return resp

    def xml_response(text, status=200):
        resp = Response(text, status=status, content_type="text/xml; charset=utf-8")
        resp.headers["Cache-Control"] = "no-store"
        return resp

    def redirect_response(location):
        resp = Response(b"", status=302, headers={"Location": location})
        resp.headers["Cache-Control"] = "no-store"
        return resp

    def display_name(local):
        user = USERS.get(local.lower())
        return user.name if user else local

    @app.get(exchange.V2_PATH + "<path:email>")
    def autodiscover_json(email):
        state.count("autodiscover_json")
        given = next((value for key, value in request.args.items(multi=True)
                      if key.lower() == "protocol"), "")
        protocol = exchange.V2_PROTOCOLS.get(given.lower())
        if protocol is None:
            return json_response(exchange.v2_invalid_protocol(given), 400)
        local, domain = exchange.split_address(email)
        if domain == "contoso.example":
            return json_response(exchange.v2_settings(issuer, protocol))
        if domain == "moved.example":
            return redirect_response(v2_url(issuer, f"{local}@contoso.example", given))
        if domain == "loop.example":
            return redirect_response(v2_url(issuer, email, given))
        if domain == "plain.example":
            return redirect_response(v2_url(plain_base, f"{local}@contoso.example", given))
        if domain == "html.example":
            return html_sign_in()
        return json_response(exchange.v2_not_found(), 404)

    def pox_request():
        """((email, schema), None), or (None, the 400 answer to an unreadable request)."""
        state.count("autodiscover_pox")
        parsed = None
        if (request.content_length or 0) <= POX_MAX_BODY:
            parsed = exchange.parse_pox_request(request.get_data())
        if parsed is None:
            return None, xml_response(exchange.invalid_request(), 400)
        return parsed, None

    def pox_answer(email, schema, outcome, target=None):
        if schema not in exchange.POX_SCHEMAS:
            return xml_response(exchange.invalid_request())
        local, _ = exchange.split_address(email)
        return xml_response(exchange.pox_document(issuer, schema, email, display_name(local),
                                                  issuer_parts.hostname, outcome, target))

    @app.post(exchange.POX_PATH)
    def autodiscover_pox():
        parsed, problem = pox_request()
        if problem is not None:
            return problem
        email, schema = parsed
        local, domain = exchange.split_address(email)
        if domain == "html.example":
            return html_sign_in()
        if domain in ("pox.example", "contoso.example"):
            return pox_answer(email, schema, "settings")
        if domain in ("comments.example", "cdata.example"):
            return xml_response(exchange.hostile_pox(domain.split(".")[0]))
        if domain == "asurl.example":
            outcome = "availability_only" if schema == exchange.OUTLOOK_SCHEMA else "error"
            return pox_answer(email, schema, outcome)
        if domain == "poxmoved.example":
            return pox_answer(email, schema, "redirect_addr", f"{local}@pox.example")
        if domain == "poxurl.example":
            return pox_answer(email, schema, "redirect_url", issuer + exchange.POX_MOVED_PATH)
        if domain == "loop.example":
            if schema == exchange.OUTLOOK_SCHEMA:
                return pox_answer(email, schema, "redirect_url", issuer + exchange.POX_PATH)
            return pox_answer(email, schema, "redirect_addr", email)
        return pox_answer(email, schema, "error")

    @app.post(exchange.POX_MOVED_PATH)
    def autodiscover_pox_moved():
        """Where poxurl.example's redirectUrl leads: settings for any address."""
        parsed, problem = pox_request()
        if problem is not None:
            return problem
        email, schema = parsed
        return pox_answer(email, schema, "settings")

    # ----------------------------------------------------------------- Exchange-like service

    def exchange_service(service):
        record, challenge = check_bearer()
        if record is None:
            state.count("service_denied")
            resp = json_response({"ok": False, "error": "unauthorized"}, 401)
            # Two challenges, on two header lines, as Exchange Online sends them.
            resp.headers.add("WWW-Authenticate", challenge + exchange.BEARER_EXTRA)
            resp.headers.add("WWW-Authenticate", f'Basic realm="{issuer_parts.hostname}"')
            return resp
        state.count("service_ok")
        resp = json_response({"ok": True, "sub": record.signin.get_user_id(),
                              "service": service})
        if request.method == "OPTIONS":
            resp.headers["MS-ASProtocolVersions"] = exchange.AS_PROTOCOL_VERSIONS
            resp.headers["MS-ASProtocolCommands"] = exchange.AS_PROTOCOL_COMMANDS
        return resp

    @app.route(exchange.ACTIVESYNC_PATH, methods=["GET", "POST", "OPTIONS"])
    def activesync():
        return exchange_service("ActiveSync")

    # ----------------------------------------------------------------- Entra ID / Exchange Online

    @app.get("/<tenant>/v2.0/.well-known/openid-configuration")
    def entra_v2_metadata(tenant):
        """An Entra authority's v2.0 metadata, under the host the client asked for (reached via
        --connect-to as login.microsoftonline.com): the `{tenantid}` issuer template for
        `common` and `organizations`, the tenant's id otherwise."""
        state.count("entra_metadata_v2")
        return json_response(microsoft.v2_metadata("https://" + request.host, tenant, TENANT_ID))

    @app.get("/<tenant>/.well-known/openid-configuration")
    def entra_v1_metadata(tenant):
        state.count("entra_metadata_v1")
        return json_response(microsoft.v1_metadata("https://" + request.host, tenant, TENANT_ID))

    @app.route("/entra/<shape>" + exchange.ACTIVESYNC_PATH, methods=["GET", "POST", "OPTIONS"])
    @app.route("/entra/<shape>" + exchange.EWS_PATH, methods=["GET", "POST"])
    def exchange_online(shape):
        """Exchange Online's (or on premises Exchange's) answer to a request without a token:
        the shapes are exchange.online_challenges'."""
        challenges = exchange.online_challenges(shape, TENANT_ID, issuer)
        if not challenges:
            return json_response({"error": "not_found"}, 404)
        state.count("exchange_online_probe")
        resp = json_response({"ok": False, "error": "unauthorized"}, 401)
        for challenge in challenges:
            resp.headers.add("WWW-Authenticate", challenge)
        return resp

    @app.route(exchange.EWS_PATH, methods=["GET", "POST"])
    def ews():
        return exchange_service("EWS")

    # ----------------------------------------------------------------- test control API

    def bad_request(text):
        return json_response({"error": "bad_request", "message": text}, 400)

    @app.get("/_test/counters")
    def test_counters():
        return json_response(state.snapshot_counters())

    @app.get("/_test/issued")
    def test_issued():
        """Every secret issued since the last reset, in issue order, so tests can search
        captured logs and outputs for them."""
        with state.lock:
            records = sorted(state.by_access.values(), key=lambda r: r.issued_at)
            return json_response({
                "access_tokens": [r.access_token for r in records],
                "refresh_tokens": list(dict.fromkeys(r.refresh_token for r in records if r.refresh_token)),
                "device_codes": [device for device, _ in state.issued_codes],
                "user_codes": [user for _, user in state.issued_codes],
                "authorization_codes": list(state.codes.keys()),
            })

    @app.post("/_test/reset")
    def test_reset():
        state.reset()
        return json_response({"ok": True})

    INT_SETTINGS = ("access_token_lifetime", "device_code_lifetime", "interval",
                    "refresh_token_lifetime", "refresh_token_inactivity", "session_lifetime")

    @app.get("/_test/config")
    def test_get_config():
        with state.lock:
            return json_response(dict(state.settings))

    @app.post("/_test/config")
    def test_config():
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            return bad_request("expected a JSON object")
        changes = {}
        for key, value in body.items():
            if key in INT_SETTINGS:
                if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                    return bad_request(f"{key} must be a non-negative integer")
                changes[key] = value
            elif key in ("microsoft", "block_device_code"):
                if not isinstance(value, bool):
                    return bad_request(f"{key} must be true or false")
                changes[key] = value
            else:
                return bad_request(f"unknown setting {key!r}")
        with state.lock:
            state.settings.update(changes)
            return json_response(dict(state.settings))

    @app.get("/_test/fault")
    def test_get_faults():
        with state.lock:
            return json_response(dict(state.faults))

    @app.post("/_test/fault")
    def test_fault():
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            return bad_request("expected a JSON object")
        endpoint, mode = body.get("endpoint"), body.get("mode")
        if endpoint not in FAULT_ENDPOINTS:
            return bad_request(f"endpoint must be one of {', '.join(FAULT_ENDPOINTS)}")
        if mode in (None, "none"):
            state.set_fault(endpoint, None)
            return json_response({"ok": True, "endpoint": endpoint, "mode": "none"})
        if mode not in FAULT_MODES:
            return bad_request(f"mode must be one of none, {', '.join(FAULT_MODES)}")
        if mode == "rotate_then_fail" and endpoint != "token":
            return bad_request("rotate_then_fail applies to the token endpoint only")
        fault = {"mode": mode}
        if isinstance(body.get("retry_after"), str):
            # Sent as it is: a header a hostile provider writes (inf, nan, 1e19, -1).
            fault["retry_after"] = body.pop("retry_after")
        for key in ("count", "status", "retry_after", "seconds"):
            if body.get(key) is not None:
                value = body[key]
                if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                    return bad_request(f"{key} must be a non-negative number")
                fault[key] = value if key == "seconds" else int(value)
        for key in ("error", "error_description", "www_authenticate"):
            if body.get(key) is not None:
                if not isinstance(body[key], str):
                    return bad_request(f"{key} must be a string")
                fault[key] = body[key]
        if mode == "raw":
            if not isinstance(body.get("text"), str):
                return bad_request("mode raw needs a text: the exact bytes to answer with")
            fault["text"] = body["text"]
        if mode == "json":
            if "body" not in body:
                return bad_request("mode json needs a body: the exact JSON value to answer with")
            fault["body"] = body["body"]
        if body.get("error_codes") is not None:
            codes = body["error_codes"]
            if not isinstance(codes, list) or not all(
                    isinstance(c, int) and not isinstance(c, bool) for c in codes):
                return bad_request("error_codes must be a list of integers")
            fault["error_codes"] = codes
        if fault.get("count") == 0:
            state.set_fault(endpoint, None)
        else:
            state.set_fault(endpoint, fault)
        return json_response({"ok": True, "endpoint": endpoint, **fault})

    @app.post("/_test/revoke_all_for_user")
    def test_revoke_all_for_user():
        body = request.get_json(silent=True) or {}
        username = body.get("username")
        if username not in USERS:
            return bad_request("unknown username")
        return json_response({"ok": True, "revoked": state.revoke_all_for_user(username)})

    return app


# --------------------------------------------------------------------- serving

_log_lock = threading.Lock()


def log_line(text):
    with _log_lock:
        sys.stdout.write(f"{time.strftime('%H:%M:%S')} {text}\n")
        sys.stdout.flush()


class QuietRequestHandler(WSGIRequestHandler):
    """One log line per request: method, path (never the query string) and status."""

    # A client that connects and stalls must not hold a thread for ever.
    timeout = 60

    def log_request(self, code="-", size="-"):
        path = getattr(self, "path", "") or ""
        path = path.split("?", 1)[0].split("#", 1)[0]
        env = getattr(self, "environ", None) or {}
        status = "dropped" if env.get("latchkey.dropped") else code
        log_line(f"{getattr(self, 'command', '-')} {path} {status}")

    def log_error(self, format, *args):
        # Messages are ours or the TLS library's (no request data in them).
        log_line(f"error: {format % args}")

    def log_message(self, format, *args):
        pass


class TLSThreadedServer(ThreadedWSGIServer):
    """Werkzeug's threaded server, with the TLS handshake done in the connection's thread
    (not in the accept loop, where one stalled client would block every other)."""

    def __init__(self, host, port, app, certfile, keyfile, microsoft_cert=None, microsoft_key=None):
        super().__init__(host, port, app, handler=QuietRequestHandler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(certfile, keyfile)
        if microsoft_cert:
            # A client that asks for a Microsoft host by name (SNI) gets the test CA's
            # certificate for it: the Entra-shaped endpoints, reached via --connect-to.
            entra = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            entra.load_cert_chain(microsoft_cert, microsoft_key)

            def choose(sock, server_name, _context):
                if server_name in microsoft.HOSTS:
                    sock.context = entra
            context.sni_callback = choose
        self.socket = context.wrap_socket(self.socket, server_side=True,
                                          do_handshake_on_connect=False)
        self.ssl_context = context


def issuer_for(host, port):
    try:
        if ipaddress.ip_address(host).version == 6:
            host = f"[{host}]"
    except ValueError:
        pass
    return f"https://{host}:{port}"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--cert", required=True, help="server certificate (PEM)")
    parser.add_argument("--key", required=True, help="server private key (PEM)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--microsoft-cert", help="certificate for the Microsoft hosts (PEM)")
    parser.add_argument("--microsoft-key", help="its private key (PEM)")
    args = parser.parse_args(argv)

    issuer = issuer_for(args.host, args.port)
    app = create_app(issuer)
    server = TLSThreadedServer(args.host, args.port, app, args.cert, args.key, args.microsoft_cert,
                               args.microsoft_key)
    log_line(f"latchkey test provider: issuer {issuer}, listening")
    try:
        server.serve_forever()
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
