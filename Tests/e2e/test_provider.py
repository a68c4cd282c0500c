"""Tests of the OAuth 2.0 / OIDC test provider on its own (Tests/Support/provider).

Run against a started provider:
    bash scripts/testenv/provider.sh start && . "$LATCHKEY_TESTENV/env.sh"
    LATCHKEY_INTEGRATION=1 .testenv/venv/bin/pytest -q Tests/e2e/test_provider.py
"""

import os
import re
import time
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from joserfc import jwt
from joserfc.jwk import KeySet

from support.provider import (CONFIDENTIAL_CLIENT, CONFIDENTIAL_SECRET, PUBLIC_CLIENT, USERS,
                              SignInError, jwt_claims, pkce_pair)

ALICE = USERS["alice"]
SCOPE = "openid offline_access"


# ----------------------------------------------------------------------------- helpers


def start_device(provider, **extra):
    resp = provider.device_authorization(**extra)
    assert resp.status_code == 200, resp.text
    return resp.json()


def poll_until_token(provider, device_code, timeout=10):
    """Poll as a well-behaved client (respecting interval=1) until a token or an error other
    than authorization_pending."""
    deadline = time.monotonic() + timeout
    while True:
        resp = provider.poll(device_code)
        if resp.status_code == 200 or resp.json().get("error") != "authorization_pending":
            return resp
        assert time.monotonic() < deadline, "device flow did not finish"
        time.sleep(1.05)


def device_tokens(provider, person, **extra):
    provider.configure(interval=1)
    data = start_device(provider, **extra)
    assert person.approve_device(data["user_code"])
    resp = poll_until_token(provider, data["device_code"])
    assert resp.status_code == 200, resp.text
    return resp.json()


def loopback_redirect(host="127.0.0.1", port=53117, path="/callback"):
    return f"http://{host}:{port}{path}"


def browser_code(provider, person, redirect_uri=None, state="st-123", **extra):
    redirect_uri = redirect_uri or loopback_redirect()
    verifier, challenge = pkce_pair()
    url = provider.authorization_url(redirect_uri, challenge, state=state, **extra)
    location = person.browser_login(url)
    parts = urlsplit(location)
    query = parse_qs(parts.query)
    return redirect_uri, verifier, parts, query


def exchange_code(provider, code, redirect_uri, verifier, client_id=PUBLIC_CLIENT):
    return provider.token({"grant_type": "authorization_code", "code": code,
                           "redirect_uri": redirect_uri, "code_verifier": verifier,
                           "client_id": client_id})


def assert_ms_error(body, error, code):
    assert body["error"] == error
    assert body["error_codes"] == [code]
    assert body["error_description"].startswith(f"AADSTS{code}: ")
    for key in ("timestamp", "trace_id", "correlation_id"):
        assert body[key]


# ----------------------------------------------------------------------------- discovery


def test_discovery_documents(provider):
    from authlib.oidc.discovery import OpenIDProviderMetadata

    session = provider.session
    oidc = session.get(provider.url + "/.well-known/openid-configuration").json()
    oauth = session.get(provider.url + "/.well-known/oauth-authorization-server").json()
    assert oidc == oauth
    issuer = provider.url
    assert oidc["issuer"] == issuer
    assert oidc["authorization_endpoint"] == issuer + "/authorize"
    assert oidc["token_endpoint"] == issuer + "/token"
    assert oidc["device_authorization_endpoint"] == issuer + "/device_authorization"
    assert oidc["revocation_endpoint"] == issuer + "/revoke"
    assert oidc["jwks_uri"] == issuer + "/jwks"
    assert oidc["userinfo_endpoint"] == issuer + "/userinfo"
    assert set(oidc["grant_types_supported"]) >= {
        "authorization_code", "refresh_token", "urn:ietf:params:oauth:grant-type:device_code"}
    assert oidc["code_challenge_methods_supported"] == ["S256"]
    assert oidc["response_types_supported"] == ["code"]
    OpenIDProviderMetadata(oidc).validate()  # Authlib's RFC 8414 / OIDC checks

    keys = session.get(oidc["jwks_uri"]).json()["keys"]
    assert [(k["kty"], k["alg"]) for k in keys] == [("RSA", "RS256")]
    assert all("d" not in k for k in keys)  # public parts only


# ----------------------------------------------------------------------------- device flow


def test_device_flow_with_mfa(provider, person):
    provider.configure(interval=1)
    data = start_device(provider, scope="openid offline_access mail.read")
    assert re.fullmatch(r"[A-Z]{4}-[A-Z]{4}", data["user_code"])
    assert data["verification_uri"] == provider.url + "/device"
    assert data["verification_uri_complete"] == (
        f"{provider.url}/device?user_code={data['user_code']}")
    assert data["expires_in"] == 300 and data["interval"] == 1

    # The verification page holds the form the contract describes.
    page = person.open_device_page(data["user_code"]).text
    assert '<form method="post" action="/device">' in page
    for name in ("user_code", "username", "password", "totp"):
        assert f'name="{name}"' in page
    assert 'name="action" value="approve"' in page and 'name="action" value="deny"' in page

    assert provider.poll(data["device_code"]).json()["error"] == "authorization_pending"

    # Wrong TOTP, wrong password, wrong user: refused with 401, grant still pending.
    assert not person.approve_device(data["user_code"], totp="000000")
    assert not person.approve_device(data["user_code"], password="wrong password")
    assert not person.approve_device(data["user_code"], username="mallory")
    refused = person.session.post(provider.url + "/device", data={
        "user_code": data["user_code"], "username": "alice", "password": ALICE["password"],
        "totp": "123456", "action": "approve"})
    assert refused.status_code == 401 and "sign-in failed" in refused.text
    time.sleep(1.05)
    assert provider.poll(data["device_code"]).json()["error"] == "authorization_pending"
    assert provider.counters()["device_approved"] == 0

    assert person.approve_device(data["user_code"])
    time.sleep(1.05)
    resp = provider.poll(data["device_code"])
    assert resp.status_code == 200, resp.text
    token = resp.json()
    assert token["token_type"] == "Bearer"
    assert token["expires_in"] == 3600
    assert token["scope"] == "openid offline_access mail.read"
    assert token["refresh_token"] and "." not in token["refresh_token"]  # opaque

    # The access token is an RS256 JWT, verifiable with the published keys.
    keys = KeySet.import_key_set(provider.session.get(provider.url + "/jwks").json())
    decoded = jwt.decode(token["access_token"], keys, algorithms=["RS256"])
    assert decoded.header["alg"] == "RS256" and decoded.header["kid"] == keys.keys[0].kid
    claims = decoded.claims
    assert claims["iss"] == provider.url
    assert claims["aud"] == PUBLIC_CLIENT
    assert claims["upn"] == "alice@contoso.example"
    assert claims["scp"] == "openid offline_access mail.read"
    assert claims["amr"] == ["pwd", "mfa"]
    assert re.fullmatch(r"[0-9a-f-]{36}", claims["tid"])
    assert claims["sub"] and claims["jti"]
    assert claims["exp"] - claims["iat"] == 3600

    # The device code is spent.
    assert provider.poll(data["device_code"]).json()["error"] == "invalid_grant"

    counters = provider.counters()
    assert counters["device_authorization"] == 1
    assert counters["device_approved"] == 1
    assert counters["token_device_code"] == 4

    ok = provider.resource(token["access_token"])
    assert ok.status_code == 200
    assert ok.json() == {"ok": True, "sub": claims["sub"],
                         "scope": "openid offline_access mail.read"}
    info = provider.resource(token["access_token"], path="/userinfo").json()
    assert info["upn"] == "alice@contoso.example" and info["sub"] == claims["sub"]


def test_second_user_and_access_token_lifetime(provider):
    provider.configure(interval=1, access_token_lifetime=120)
    bob = provider.person("bob")
    data = start_device(provider)
    assert bob.approve_device(data["user_code"])
    token = provider.poll(data["device_code"]).json()
    assert token["expires_in"] == 120
    claims = jwt_claims(token["access_token"])
    assert claims["upn"] == "bob@contoso.example"
    assert claims["exp"] - claims["iat"] == 120


def test_slow_down_when_polled_faster_than_interval(provider):
    provider.configure(interval=1)
    data = start_device(provider)
    assert provider.poll(data["device_code"]).json()["error"] == "authorization_pending"
    assert provider.poll(data["device_code"]).json()["error"] == "slow_down"
    assert provider.poll(data["device_code"]).json()["error"] == "slow_down"
    time.sleep(1.05)
    assert provider.poll(data["device_code"]).json()["error"] == "authorization_pending"
    assert provider.counters()["token_device_code"] == 4


def test_access_denied_after_deny(provider, person):
    provider.configure(interval=1)
    data = start_device(provider)
    assert person.deny_device(data["user_code"])
    resp = provider.poll(data["device_code"])
    assert resp.status_code == 400 and resp.json()["error"] == "access_denied"
    # A denied code cannot be approved afterwards.
    assert not person.approve_device(data["user_code"])


def test_expired_token(provider, person):
    provider.configure(interval=1, device_code_lifetime=1)
    data = start_device(provider)
    assert data["expires_in"] == 1
    time.sleep(1.2)
    resp = provider.poll(data["device_code"])
    assert resp.status_code == 400 and resp.json()["error"] == "expired_token"
    assert not person.approve_device(data["user_code"])  # the page refuses the old code


def test_unknown_client_is_refused(provider):
    resp = provider.device_authorization(client_id="no-such-client")
    assert resp.status_code in (400, 401) and resp.json()["error"] == "invalid_client"


# ----------------------------------------------------------------------------- refresh


def test_refresh_rotation(provider, person):
    first = device_tokens(provider, person)
    resp = provider.refresh(first["refresh_token"])
    assert resp.status_code == 200, resp.text
    second = resp.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    assert second["expires_in"] == 3600 and second["scope"] == SCOPE
    assert jwt_claims(second["access_token"])["amr"] == ["pwd", "mfa"]
    assert provider.counters()["last_refresh_token_reused"] is False

    reused = provider.refresh(first["refresh_token"])
    assert reused.status_code == 400 and reused.json()["error"] == "invalid_grant"
    counters = provider.counters()
    assert counters["last_refresh_token_reused"] is True
    assert counters["token_refresh"] == 2 and counters["token_refresh_ok"] == 1

    third = provider.refresh(second["refresh_token"])
    assert third.status_code == 200
    # A narrower scope is allowed, a wider one is not (outside microsoft mode).
    narrower = provider.refresh(third.json()["refresh_token"], scope="openid")
    assert narrower.status_code == 200 and narrower.json()["scope"] == "openid"
    wider = provider.refresh(narrower.json()["refresh_token"], scope="openid admin")
    assert wider.json()["error"] == "invalid_scope"


def test_concurrent_refresh_with_one_token_rotates_once(provider, person):
    tokens = device_tokens(provider, person)
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: provider.refresh(tokens["refresh_token"]).status_code,
                                range(8)))
    assert sorted(results) == [200] + [400] * 7


def test_refresh_token_lifetime(provider, person):
    tokens = device_tokens(provider, person)
    provider.configure(refresh_token_lifetime=1)
    fresh = provider.refresh(tokens["refresh_token"]).json()  # issued with a 1 s lifetime
    time.sleep(1.1)
    resp = provider.refresh(fresh["refresh_token"])
    assert resp.json()["error"] == "invalid_grant"


def test_revoke_all_for_user(provider, person):
    tokens = device_tokens(provider, person)
    assert provider.resource(tokens["access_token"]).status_code == 200
    provider.revoke_all_for_user("alice")
    assert provider.resource(tokens["access_token"]).status_code == 401
    assert provider.refresh(tokens["refresh_token"]).json()["error"] == "invalid_grant"


# ----------------------------------------------------------------------------- auth code


def test_authorization_code_with_pkce(provider, person):
    redirect_uri, verifier, parts, query = browser_code(provider, person)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == redirect_uri
    assert query["state"] == ["st-123"]
    code = query["code"][0]

    wrong = exchange_code(provider, code, redirect_uri, pkce_pair()[0])
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"
    missing = provider.token({"grant_type": "authorization_code", "code": code,
                              "redirect_uri": redirect_uri, "client_id": PUBLIC_CLIENT})
    assert missing.status_code == 400 and missing.json()["error"] == "invalid_request"

    resp = exchange_code(provider, code, redirect_uri, verifier)
    assert resp.status_code == 200, resp.text
    token = resp.json()
    assert token["refresh_token"] and token["expires_in"] == 3600
    claims = jwt_claims(token["access_token"])
    assert claims["amr"] == ["pwd", "mfa"] and claims["upn"] == "alice@contoso.example"

    again = exchange_code(provider, code, redirect_uri, verifier)  # codes are single-use
    assert again.json()["error"] == "invalid_grant"
    assert provider.counters()["token_authorization_code"] == 4


def test_authorization_code_loopback_rules(provider, person):
    # Any port on 127.0.0.1 or [::1] (RFC 8252 section 7.3); the token request must repeat it.
    redirect_uri, verifier, parts, query = browser_code(
        provider, person, redirect_uri="http://[::1]:40123/cb")
    assert parts.netloc == "[::1]:40123"
    other = exchange_code(provider, query["code"][0], "http://[::1]:40124/cb", verifier)
    assert other.json()["error"] == "invalid_grant"

    # Non-loopback redirect URIs are refused without a redirect.
    verifier, challenge = pkce_pair()
    for bad in ("https://evil.example/cb", "http://localhost:8080/cb",
                "http://192.168.1.2:8080/cb"):
        url = provider.authorization_url(bad, challenge)
        resp = provider.session.get(url, allow_redirects=False)
        assert resp.status_code == 400, bad

    # No PKCE, or plain PKCE: an error redirect to the client.
    url = provider.authorization_url(loopback_redirect(), challenge, state="s")
    no_pkce = url.replace("code_challenge=", "x=")
    location = person.browser_login(no_pkce)
    assert parse_qs(urlsplit(location).query)["error"] == ["invalid_request"]
    plain = url.replace("code_challenge_method=S256", "code_challenge_method=plain")
    location = person.browser_login(plain)
    assert parse_qs(urlsplit(location).query)["error"] == ["invalid_request"]


def test_browser_sign_in_refused_and_denied(provider, person):
    verifier, challenge = pkce_pair()
    url = provider.authorization_url(loopback_redirect(), challenge, state="xyz")
    with pytest.raises(SignInError) as refused:
        person.browser_login(url, totp="000000")
    assert refused.value.status == 401 and "sign-in failed" in refused.value.text
    location = person.browser_login(url, deny=True)
    query = parse_qs(urlsplit(location).query)
    assert query["error"] == ["access_denied"] and query["state"] == ["xyz"]


def test_confidential_client(provider, person):
    for auth_style in ("post", "basic"):
        redirect_uri, verifier, _, query = browser_code(
            provider, person, client_id=CONFIDENTIAL_CLIENT)
        data = {"grant_type": "authorization_code", "code": query["code"][0],
                "redirect_uri": redirect_uri, "code_verifier": verifier}
        if auth_style == "post":
            resp = provider.token({**data, "client_id": CONFIDENTIAL_CLIENT,
                                   "client_secret": CONFIDENTIAL_SECRET})
        else:
            resp = provider.token(data, auth=(CONFIDENTIAL_CLIENT, CONFIDENTIAL_SECRET))
        assert resp.status_code == 200, resp.text
        assert jwt_claims(resp.json()["access_token"])["aud"] == CONFIDENTIAL_CLIENT

    token = resp.json()
    no_secret = provider.refresh(token["refresh_token"], client_id=CONFIDENTIAL_CLIENT)
    assert no_secret.json()["error"] == "invalid_client"
    wrong = provider.refresh(token["refresh_token"], client_id=CONFIDENTIAL_CLIENT,
                             client_secret="wrong")
    assert wrong.json()["error"] == "invalid_client"
    other_client = provider.refresh(token["refresh_token"], client_id=PUBLIC_CLIENT)
    assert other_client.json()["error"] == "invalid_grant"
    ok = provider.token({"grant_type": "refresh_token", "refresh_token": token["refresh_token"]},
                        auth=(CONFIDENTIAL_CLIENT, CONFIDENTIAL_SECRET))
    assert ok.status_code == 200


# ----------------------------------------------------------------------------- revocation


def test_revocation(provider, person):
    tokens = device_tokens(provider, person)
    refreshed = provider.refresh(tokens["refresh_token"]).json()

    resp = provider.revoke(refreshed["access_token"], "access_token")
    assert resp.status_code == 200
    denied = provider.resource(refreshed["access_token"])
    assert denied.status_code == 401 and 'error="invalid_token"' in denied.headers[
        "WWW-Authenticate"]
    # Revoking an access token leaves the refresh token usable...
    again = provider.refresh(refreshed["refresh_token"])
    assert again.status_code == 200
    latest = again.json()
    # ...revoking the refresh token ends the grant, access token included.
    assert provider.revoke(latest["refresh_token"], "refresh_token").status_code == 200
    assert provider.refresh(latest["refresh_token"]).json()["error"] == "invalid_grant"
    assert provider.resource(latest["access_token"]).status_code == 401
    # Unknown tokens are fine (RFC 7009 section 2.2).
    assert provider.revoke("no-such-token").status_code == 200
    assert provider.counters()["revoke"] == 3


# ----------------------------------------------------------------------------- resource


def test_protected_resource(provider, person):
    authz = f'authorization_uri="{provider.url}/authorize"'
    bare = provider.resource()
    assert bare.status_code == 401
    assert bare.headers["WWW-Authenticate"] == f'Bearer realm="latchkey-test", {authz}'

    bad = provider.resource("not-a-jwt")
    assert bad.status_code == 401
    assert bad.headers["WWW-Authenticate"] == (
        f'Bearer realm="latchkey-test", error="invalid_token", {authz}')

    provider.configure(access_token_lifetime=1)
    tokens = device_tokens(provider, person)
    assert provider.resource(tokens["access_token"]).status_code == 200
    tampered = tokens["access_token"][:-4] + ("AAAA" if not tokens["access_token"].endswith(
        "AAAA") else "BBBB")
    assert provider.resource(tampered).status_code == 401
    time.sleep(1.1)
    expired = provider.resource(tokens["access_token"])
    assert expired.status_code == 401 and 'error="invalid_token"' in expired.headers[
        "WWW-Authenticate"]
    counters = provider.counters()
    assert counters["resource_ok"] == 1 and counters["resource_denied"] == 4


def test_claims_parameter_is_recorded(provider, person):
    claims = '{"access_token":{"acrs":{"essential":true,"value":"c1"}}}'
    provider.configure(interval=1)
    start_device(provider, claims=claims)
    assert provider.counters()["last_claims"] == claims
    tokens = device_tokens(provider, person)
    provider.refresh(tokens["refresh_token"], claims='{"x":1}')
    assert provider.counters()["last_claims"] == '{"x":1}'
    verifier, challenge = pkce_pair()
    person.browser_login(provider.authorization_url(loopback_redirect(), challenge,
                                                    claims='{"y":2}'))
    assert provider.counters()["last_claims"] == '{"y":2}'


# ----------------------------------------------------------------------------- microsoft


def test_microsoft_mode_shapes(provider, person):
    provider.configure(microsoft=True, interval=1)
    data = start_device(provider)
    assert data["expires_in"] == "300" and data["interval"] == "1"
    assert data["verification_url"] == provider.url + "/device"
    assert "verification_uri" not in data
    assert data["message"] == (
        f"To sign in, use a web browser to open the page {provider.url}/device "
        f"and enter the code {data['user_code']} to authenticate.")

    pending = provider.poll(data["device_code"])
    assert pending.status_code == 400
    assert_ms_error(pending.json(), "authorization_pending", 70016)

    assert person.approve_device(data["user_code"])
    time.sleep(1.05)
    token = provider.poll(data["device_code"]).json()
    assert token["expires_in"] == "3600" and token["token_type"] == "Bearer"

    refreshed = provider.refresh(token["refresh_token"]).json()
    # Entra ID refresh tokens are multi-resource: another scope is allowed.
    other = provider.refresh(refreshed["refresh_token"],
                             scope="https://outlook.office.com/IMAP.AccessAsUser.All")
    assert other.status_code == 200
    assert jwt_claims(other.json()["access_token"])["scp"] == (
        "https://outlook.office.com/IMAP.AccessAsUser.All")
    assert_ms_error(provider.refresh(token["refresh_token"]).json(), "invalid_grant", 70000)

    provider.revoke_all_for_user("alice")
    assert_ms_error(provider.refresh(other.json()["refresh_token"]).json(),
                    "invalid_grant", 50173)


def test_microsoft_mode_device_errors(provider, person):
    provider.configure(microsoft=True, interval=1, device_code_lifetime=1)
    denied = start_device(provider)
    expired = start_device(provider)
    assert person.deny_device(denied["user_code"])
    assert_ms_error(provider.poll(denied["device_code"]).json(), "access_denied", 65004)
    time.sleep(1.2)
    assert_ms_error(provider.poll(expired["device_code"]).json(), "expired_token", 70019)


def test_microsoft_mode_refresh_expired_by_inactivity(provider, person):
    tokens = device_tokens(provider, person)
    provider.configure(microsoft=True, refresh_token_lifetime=0)
    fresh = provider.refresh(tokens["refresh_token"]).json()
    resp = provider.refresh(fresh["refresh_token"])
    assert_ms_error(resp.json(), "invalid_grant", 700082)


# ----------------------------------------------------------------------------- faults


def test_fault_status_with_retry_after_and_count(provider, person):
    tokens = device_tokens(provider, person)
    provider.fault("token", "status", status=503, retry_after=7, count=2)
    for _ in range(2):
        resp = provider.refresh(tokens["refresh_token"])
        assert resp.status_code == 503
        assert resp.headers["Retry-After"] == "7"
        assert resp.json()["error"] == "temporarily_unavailable"
    ok = provider.refresh(tokens["refresh_token"])  # count used up: normal again
    assert ok.status_code == 200
    counters = provider.counters()
    assert counters["token_refresh"] == 3 and counters["token_refresh_ok"] == 1


@pytest.mark.parametrize("status, error", [(400, "invalid_grant"),
                                           (400, "interaction_required"),
                                           (500, "server_error"), (502, None), (429, None)])
def test_fault_status_codes(provider, status, error):
    options = {"status": status}
    if error:
        options["error"] = error
    provider.fault("token", "status", **options)
    resp = provider.refresh("anything")
    assert resp.status_code == status
    assert resp.json()["error"] == (error or "temporarily_unavailable")
    provider.clear_fault("token")
    assert provider.refresh("anything").json()["error_description"] == (
        "The refresh token is invalid.")


def test_fault_status_aadsts_shape(provider):
    provider.configure(microsoft=True)
    provider.fault("token", "status", status=400, error="invalid_grant", error_codes=[53003])
    body = provider.refresh("anything").json()
    assert_ms_error(body, "invalid_grant", 53003)
    assert "Conditional Access" in body["error_description"]


def test_fault_hang(provider):
    provider.fault("discovery", "hang", seconds=1, count=1)
    started = time.monotonic()
    resp = provider.session.get(provider.url + "/.well-known/openid-configuration")
    assert time.monotonic() - started >= 1.0
    assert resp.status_code == 200 and resp.json()["issuer"] == provider.url


def test_fault_hang_times_out_client(provider):
    provider.fault("token", "hang", seconds=2, count=1)
    with pytest.raises(requests.Timeout):
        provider.session.post(provider.url + "/token", data={"grant_type": "refresh_token"},
                              timeout=0.5)


@pytest.mark.parametrize("mode", ["bad_json", "html", "empty"])
def test_fault_bad_bodies(provider, mode):
    provider.fault("device_authorization", mode, count=1)
    resp = provider.device_authorization()
    assert resp.status_code == 200
    if mode == "bad_json":
        assert resp.text == '{"access_token": '
        with pytest.raises(ValueError):
            resp.json()
    elif mode == "html":
        assert resp.headers["Content-Type"].startswith("text/html")
        assert "<html" in resp.text
    else:
        assert resp.content == b""
    assert provider.device_authorization().status_code == 200  # count=1: back to normal
    assert provider.counters()["device_authorization"] == 2


def test_fault_html_with_status(provider):
    provider.fault("token", "html", status=502)
    resp = provider.refresh("anything")
    assert resp.status_code == 502 and resp.headers["Content-Type"].startswith("text/html")


def test_fault_drop(provider):
    provider.fault("token", "drop", count=1)
    with pytest.raises(requests.ConnectionError):
        provider.refresh("anything")
    assert provider.refresh("anything").status_code == 400


def test_fault_rotate_then_fail(provider, person):
    tokens = device_tokens(provider, person)
    provider.fault("token", "rotate_then_fail", count=1)
    lost = provider.refresh(tokens["refresh_token"])
    assert lost.status_code == 500 and lost.json()["error"] == "server_error"
    # The refresh happened: the old refresh token was rotated away.
    retry = provider.refresh(tokens["refresh_token"])
    assert retry.status_code == 400 and retry.json()["error"] == "invalid_grant"
    counters = provider.counters()
    assert counters["last_refresh_token_reused"] is True
    assert counters["token_refresh"] == 2 and counters["token_refresh_ok"] == 0


def test_fault_on_resource_and_discovery(provider, person):
    tokens = device_tokens(provider, person)
    provider.fault("resource", "status", status=401, error="invalid_token", count=1)
    resp = provider.resource(tokens["access_token"])
    assert resp.status_code == 401 and 'error="invalid_token"' in resp.headers[
        "WWW-Authenticate"]
    assert provider.resource(tokens["access_token"]).status_code == 200

    provider.fault("discovery", "status", status=503)
    for path in ("/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"):
        assert provider.session.get(provider.url + path).status_code == 503
    provider.clear_fault("discovery")
    assert provider.discovery()["issuer"] == provider.url


def test_reset_clears_everything(provider, person):
    tokens = device_tokens(provider, person)
    provider.configure(microsoft=True, access_token_lifetime=5, block_device_code=True)
    provider.fault("token", "status", status=500)
    provider.reset()
    assert provider.settings() == {"access_token_lifetime": 3600, "device_code_lifetime": 300,
                                   "interval": 5, "microsoft": False, "block_device_code": False,
                                   "refresh_token_lifetime": 90 * 24 * 3600, "refresh_token_inactivity": 0,
                                   "session_lifetime": 0}
    assert set(provider.counters().values()) <= {0, None, False}
    assert provider.refresh(tokens["refresh_token"]).json()["error"] == "invalid_grant"
    assert provider.resource(tokens["access_token"]).status_code == 401


def test_control_api_rejects_bad_input(provider):
    for body in ({"endpoint": "nowhere", "mode": "status"}, {"endpoint": "token", "mode": "x"},
                 {"endpoint": "resource", "mode": "rotate_then_fail"}):
        assert provider.session.post(provider.url + "/_test/fault", json=body).status_code == 400
    assert provider.session.post(provider.url + "/_test/config",
                                 json={"interval": "fast"}).status_code == 400
    assert provider.session.post(provider.url + "/_test/config",
                                 json={"bogus": 1}).status_code == 400


# ----------------------------------------------------------------------------- autodiscover
# Autodiscover and the Exchange-like service.

V2_PATH = "/autodiscover/autodiscover.json/v1.0/"
POX_PATH = "/autodiscover/autodiscover.xml"
POX_MOVED_PATH = "/autodiscover/moved/autodiscover.xml"
ACTIVESYNC_PATH = "/Microsoft-Server-ActiveSync"
EWS_PATH = "/EWS/Exchange.asmx"
AD_SCHEMA = "http://schemas.microsoft.com/exchange/autodiscover"
MOBILESYNC_REQUEST = AD_SCHEMA + "/mobilesync/requestschema/2006"
MOBILESYNC_RESPONSE = AD_SCHEMA + "/mobilesync/responseschema/2006"
OUTLOOK_REQUEST = AD_SCHEMA + "/outlook/requestschema/2006"
OUTLOOK_RESPONSE = AD_SCHEMA + "/outlook/responseschema/2006a"
XML_NS = {"a": AD_SCHEMA + "/responseschema/2006", "m": MOBILESYNC_RESPONSE,
          "o": OUTLOOK_RESPONSE}
TRUSTED_ISSUERS = ('trusted_issuers="00000001-0000-0000-c000-000000000000@*", '
                   'token_types="app_asserting_user"')


def autodiscover_v2(provider, email, protocol="ActiveSync"):
    params = {"Protocol": protocol} if protocol is not None else None
    return provider.session.get(provider.url + V2_PATH + email, params=params,
                                allow_redirects=False)


def pox_body(email, schema):
    request_ns = OUTLOOK_REQUEST if schema == OUTLOOK_RESPONSE else MOBILESYNC_REQUEST
    return (f'<?xml version="1.0" encoding="utf-8"?><Autodiscover xmlns="{request_ns}">'
            f"<Request><EMailAddress>{email}</EMailAddress><AcceptableResponseSchema>{schema}"
            "</AcceptableResponseSchema></Request></Autodiscover>")


def autodiscover_pox(provider, email, schema, path=POX_PATH, body=None):
    data = body if body is not None else pox_body(email, schema)
    return provider.session.post(provider.url + path, data=data.encode("utf-8"),
                                 headers={"Content-Type": "text/xml; charset=utf-8"},
                                 allow_redirects=False)


def pox_xml(resp, status=200):
    assert resp.status_code == status, resp.text
    assert resp.headers["Content-Type"] == "text/xml; charset=utf-8"
    return ET.fromstring(resp.content)


def service(provider, path, access_token=None, method="GET"):
    headers = {"Authorization": f"Bearer {access_token}"} if access_token else {}
    return provider.session.request(method, provider.url + path, headers=headers)


def test_autodiscover_v2_settings(provider):
    resp = autodiscover_v2(provider, "alice@contoso.example")
    assert resp.status_code == 200 and resp.headers["Content-Type"] == "application/json"
    assert resp.json() == {"Protocol": "ActiveSync", "Url": provider.url + ACTIVESYNC_PATH}
    # The protocol value and the domain are case-insensitive.
    resp = autodiscover_v2(provider, "alice@Contoso.Example", "ews")
    assert resp.status_code == 200
    assert resp.json() == {"Protocol": "EWS", "Url": provider.url + EWS_PATH}
    assert provider.counters()["autodiscover_json"] == 2


def test_autodiscover_v2_moved(provider):
    resp = autodiscover_v2(provider, "alice@moved.example", "EWS")
    assert resp.status_code == 302
    location = resp.headers["Location"]
    assert location == provider.url + V2_PATH + "alice@contoso.example?Protocol=EWS"
    followed = provider.session.get(location, allow_redirects=False)
    assert followed.json() == {"Protocol": "EWS", "Url": provider.url + EWS_PATH}


def test_autodiscover_v2_loop_and_plain_http(provider):
    loop = autodiscover_v2(provider, "alice@loop.example")
    assert loop.status_code == 302
    assert loop.headers["Location"] == loop.request.url
    with pytest.raises(requests.TooManyRedirects):
        provider.session.get(loop.request.url)

    plain = autodiscover_v2(provider, "alice@plain.example")
    assert plain.status_code == 302
    location = plain.headers["Location"]
    assert location.startswith("http://")
    assert location == ("http://" + urlsplit(provider.url).netloc + V2_PATH
                        + "alice@contoso.example?Protocol=ActiveSync")


def test_autodiscover_v2_html_page(provider):
    resp = autodiscover_v2(provider, "alice@html.example")
    assert resp.status_code == 200
    assert resp.headers["Content-Type"].startswith("text/html")
    assert resp.text.startswith("<!DOCTYPE html>") and "<title>Sign in</title>" in resp.text


def test_autodiscover_v2_unknown_address(provider):
    for email in ("alice@nowhere.example", "alice@pox.example", "no-at-sign"):
        resp = autodiscover_v2(provider, email)
        assert resp.status_code == 404, email
        assert resp.json() == {"ErrorCode": "NotFound",
                               "ErrorMessage": "No Autodiscover information for this address."}


def test_autodiscover_v2_invalid_protocol(provider):
    for protocol in ("IMAP", None):
        resp = autodiscover_v2(provider, "alice@contoso.example", protocol)
        assert resp.status_code == 400
        assert resp.json() == {
            "ErrorCode": "InvalidProtocol",
            "ErrorMessage": f"The given protocol value '{protocol or ''}' is invalid. "
                            "Supported values are 'ActiveSync, EWS'."}
    assert provider.counters()["autodiscover_json"] == 2


def test_autodiscover_pox_mobilesync_settings(provider):
    root = pox_xml(autodiscover_pox(provider, "alice@pox.example", MOBILESYNC_RESPONSE))
    response = root.find("m:Response", XML_NS)
    assert response.findtext("m:Culture", namespaces=XML_NS) == "en:us"
    assert response.findtext("m:User/m:DisplayName", namespaces=XML_NS) == "Alice Example"
    assert response.findtext("m:User/m:EMailAddress", namespaces=XML_NS) == "alice@pox.example"
    server = response.find("m:Action/m:Settings/m:Server", XML_NS)
    assert server.findtext("m:Type", namespaces=XML_NS) == "MobileSync"
    assert server.findtext("m:Url", namespaces=XML_NS) == provider.url + ACTIVESYNC_PATH
    assert server.findtext("m:Name", namespaces=XML_NS) == provider.url + ACTIVESYNC_PATH
    assert provider.counters()["autodiscover_pox"] == 1


def test_autodiscover_pox_outlook_settings(provider):
    for email in ("bob@pox.example", "bob@contoso.example"):
        root = pox_xml(autodiscover_pox(provider, email, OUTLOOK_RESPONSE))
        response = root.find("o:Response", XML_NS)
        assert response.findtext("o:User/o:AutoDiscoverSMTPAddress", namespaces=XML_NS) == email
        account = response.find("o:Account", XML_NS)
        assert account.findtext("o:Action", namespaces=XML_NS) == "settings"
        protocol = account.find("o:Protocol", XML_NS)
        assert protocol.findtext("o:Type", namespaces=XML_NS) == "EXCH"
        # MS-OXDSCLI: ASUrl is the Availability service, an EWS endpoint, never ActiveSync.
        assert protocol.findtext("o:ASUrl", namespaces=XML_NS) == provider.url + EWS_PATH
        assert protocol.findtext("o:EwsUrl", namespaces=XML_NS) == provider.url + EWS_PATH


def test_autodiscover_pox_redirect_addr(provider):
    root = pox_xml(autodiscover_pox(provider, "alice@poxmoved.example", MOBILESYNC_RESPONSE))
    assert root.findtext("m:Response/m:Action/m:Redirect",
                         namespaces=XML_NS) == "alice@pox.example"
    root = pox_xml(autodiscover_pox(provider, "alice@PoxMoved.example", OUTLOOK_RESPONSE))
    account = root.find("o:Response/o:Account", XML_NS)
    assert account.findtext("o:Action", namespaces=XML_NS) == "redirectAddr"
    assert account.findtext("o:RedirectAddr", namespaces=XML_NS) == "alice@pox.example"


def test_autodiscover_pox_redirect_url_and_moved_endpoint(provider):
    root = pox_xml(autodiscover_pox(provider, "alice@poxurl.example", OUTLOOK_RESPONSE))
    account = root.find("o:Response/o:Account", XML_NS)
    assert account.findtext("o:Action", namespaces=XML_NS) == "redirectUrl"
    url = account.findtext("o:RedirectUrl", namespaces=XML_NS)
    assert url == provider.url + POX_MOVED_PATH

    moved = pox_xml(autodiscover_pox(provider, "alice@poxurl.example", OUTLOOK_RESPONSE,
                                     path=POX_MOVED_PATH))
    assert moved.findtext("o:Response/o:Account/o:Protocol/o:EwsUrl",
                          namespaces=XML_NS) == provider.url + EWS_PATH
    moved = pox_xml(autodiscover_pox(provider, "alice@poxurl.example", MOBILESYNC_RESPONSE,
                                     path=POX_MOVED_PATH))
    assert moved.findtext("m:Response/m:Action/m:Settings/m:Server/m:Url",
                          namespaces=XML_NS) == provider.url + ACTIVESYNC_PATH

    # mobilesync has no URL redirect: the address is not found there.
    root = pox_xml(autodiscover_pox(provider, "alice@poxurl.example", MOBILESYNC_RESPONSE))
    assert root.findtext("m:Response/m:Action/m:Error/m:Status", namespaces=XML_NS) == "1"
    assert provider.counters()["autodiscover_pox"] == 4


def test_autodiscover_pox_loop(provider):
    root = pox_xml(autodiscover_pox(provider, "alice@loop.example", OUTLOOK_RESPONSE))
    account = root.find("o:Response/o:Account", XML_NS)
    assert account.findtext("o:Action", namespaces=XML_NS) == "redirectUrl"
    assert account.findtext("o:RedirectUrl", namespaces=XML_NS) == provider.url + POX_PATH
    root = pox_xml(autodiscover_pox(provider, "alice@loop.example", MOBILESYNC_RESPONSE))
    assert root.findtext("m:Response/m:Action/m:Redirect",
                         namespaces=XML_NS) == "alice@loop.example"


def test_autodiscover_pox_unknown_address_and_html(provider):
    root = pox_xml(autodiscover_pox(provider, "alice@nowhere.example", MOBILESYNC_RESPONSE))
    error = root.find("m:Response/m:Action/m:Error", XML_NS)
    assert error.findtext("m:Status", namespaces=XML_NS) == "1"
    assert error.findtext("m:Message", namespaces=XML_NS) == "The e-mail address cannot be found."

    root = pox_xml(autodiscover_pox(provider, "alice@nowhere.example", OUTLOOK_RESPONSE))
    error = root.find("a:Response/a:Error", XML_NS)
    assert error.get("Time") and error.get("Id")
    assert error.findtext("a:ErrorCode", namespaces=XML_NS) == "500"

    html = autodiscover_pox(provider, "alice@html.example", OUTLOOK_RESPONSE)
    assert html.status_code == 200 and html.headers["Content-Type"].startswith("text/html")


def test_autodiscover_pox_bad_requests(provider):
    for body in ("<Autodiscover><Request><EMailAddress>", "not xml at all",
                 pox_body("", OUTLOOK_RESPONSE)):
        root = pox_xml(autodiscover_pox(provider, None, None, body=body), status=400)
        assert root.findtext("a:Response/a:Error/a:ErrorCode", namespaces=XML_NS) == "600"
        assert root.findtext("a:Response/a:Error/a:Message",
                             namespaces=XML_NS) == "Invalid Request"
    # A readable request for a response schema Exchange does not know: 600, but HTTP 200.
    root = pox_xml(autodiscover_pox(provider, "alice@pox.example", AD_SCHEMA + "/nope/2006"))
    assert root.findtext("a:Response/a:Error/a:ErrorCode", namespaces=XML_NS) == "600"
    assert provider.counters()["autodiscover_pox"] == 4


def test_exchange_service_without_token(provider):
    authz = f'authorization_uri="{provider.url}/authorize"'
    for path, method in ((ACTIVESYNC_PATH, "GET"), (ACTIVESYNC_PATH, "OPTIONS"),
                         (EWS_PATH, "POST")):
        resp = service(provider, path, method=method)
        assert resp.status_code == 401, (path, method)
        assert resp.json() == {"ok": False, "error": "unauthorized"}
        assert resp.raw.headers.getlist("WWW-Authenticate") == [
            f'Bearer realm="latchkey-test", {authz}, {TRUSTED_ISSUERS}',
            'Basic realm="127.0.0.1"']
    bad = service(provider, EWS_PATH, "not-a-jwt")
    assert bad.status_code == 401
    assert bad.raw.headers.getlist("WWW-Authenticate")[0] == (
        f'Bearer realm="latchkey-test", error="invalid_token", {authz}, {TRUSTED_ISSUERS}')
    assert provider.counters()["service_denied"] == 4


def test_exchange_service_with_token(provider, person):
    tokens = device_tokens(provider, person)
    sub = provider.resource(tokens["access_token"]).json()["sub"]
    for path, method, name in ((ACTIVESYNC_PATH, "GET", "ActiveSync"),
                               (ACTIVESYNC_PATH, "POST", "ActiveSync"),
                               (EWS_PATH, "GET", "EWS"), (EWS_PATH, "POST", "EWS")):
        resp = service(provider, path, tokens["access_token"], method)
        assert resp.status_code == 200, (path, method, resp.text)
        assert resp.json() == {"ok": True, "sub": sub, "service": name}
        assert "MS-ASProtocolVersions" not in resp.headers

    options = service(provider, ACTIVESYNC_PATH, tokens["access_token"], "OPTIONS")
    assert options.status_code == 200
    assert options.headers["MS-ASProtocolVersions"] == "14.0,14.1,16.0,16.1"
    assert options.headers["MS-ASProtocolCommands"] == "Sync,FolderSync,Ping"
    assert provider.counters()["service_ok"] == 5

    provider.revoke(tokens["access_token"])
    assert service(provider, EWS_PATH, tokens["access_token"]).status_code == 401


def test_reset_clears_exchange_counters(provider):
    autodiscover_v2(provider, "alice@contoso.example")
    autodiscover_pox(provider, "alice@pox.example", OUTLOOK_RESPONSE)
    service(provider, EWS_PATH)
    counters = provider.counters()
    assert (counters["autodiscover_json"], counters["autodiscover_pox"],
            counters["service_denied"]) == (1, 1, 1)
    provider.reset()
    counters = provider.counters()
    for name in ("autodiscover_json", "autodiscover_pox", "service_ok", "service_denied"):
        assert counters[name] == 0


# ----------------------------------------------------------------------------- serving


def test_fifty_concurrent_connections(provider):
    # Every request is held for 1 s: 50 of them finish in about 1 s only if served at once.
    provider.fault("discovery", "hang", seconds=1)
    url = provider.url + "/.well-known/openid-configuration"

    def fetch(_):
        session = requests.Session()
        session.trust_env = False
        return session.get(url, verify=provider.ca, timeout=30).status_code

    started = time.monotonic()
    with ThreadPoolExecutor(50) as pool:
        assert list(pool.map(fetch, range(50))) == [200] * 50
    assert time.monotonic() - started < 6


def test_log_has_no_secrets(provider, person):
    testenv = os.environ.get("LATCHKEY_TESTENV")
    log_path = os.path.join(testenv, "provider.log") if testenv else None
    if not log_path or not os.path.exists(log_path):
        pytest.skip("no provider log in $LATCHKEY_TESTENV")
    provider.configure(interval=1)
    data = start_device(provider)
    person.open_device_page(data["user_code"])
    assert person.approve_device(data["user_code"])
    tokens = provider.poll(data["device_code"]).json()
    provider.refresh(tokens["refresh_token"])
    provider.resource(tokens["access_token"])
    redirect_uri, verifier, _, query = browser_code(provider, person)
    exchange_code(provider, query["code"][0], redirect_uri, verifier)
    provider.token({"grant_type": "refresh_token", "refresh_token": "x",
                    "client_id": CONFIDENTIAL_CLIENT, "client_secret": CONFIDENTIAL_SECRET})

    log = open(log_path, encoding="utf-8", errors="replace").read()
    secrets = [data["user_code"], data["user_code"].replace("-", ""), data["device_code"],
               tokens["access_token"], tokens["access_token"][:40], tokens["refresh_token"],
               query["code"][0], verifier, CONFIDENTIAL_SECRET,
               ALICE["password"], ALICE["totp_secret"], USERS["bob"]["password"]]
    for secret in secrets:
        assert secret not in log
    assert "POST /token 200" in log and "GET /device 200" in log
