"""Issue 14, items 1, 2 and 7: numbers and URLs from outside go through one checked path.
A URL on the socket with a non-ASCII digit or a bad port, a provider's `Retry-After: inf`,
`expires_in: -1e300`, JSON with leading zeros, `1e400` or a member given twice: each gets a
clear error naming the field (or the provider), the daemon lives and answers other accounts,
and no token or refresh token is lost."""

import json
import time
from urllib.parse import urlsplit

import pytest

from test_latchkey_device_flow import assert_no_secrets


def configure(latchkey, provider, extra=""):
    latchkey.write_config('[broker]\nstore = "memory"\n\n' + latchkey.oauth_account("work", provider.url, provider.ca)
                          + latchkey.oauth_account("other", provider.url, provider.ca)
                          + '[accounts.legacy]\nmethod = "basic"\nusername = "alice"\n'
                          'url = "https://localhost:8443/basic/"\n' + extra)


def signed_in(latchkey, provider, person):
    configure(latchkey, provider)
    latchkey.start()
    code, _, err, _ = latchkey.login("work", person)
    assert code == 0, err
    first = latchkey.run("token", "work", "--no-autostart")
    assert first.returncode == 0, first.stderr
    return first.stdout.strip()


def alive_and_serving(latchkey):
    assert latchkey.process.poll() is None, latchkey.log_text()[-3000:]
    assert latchkey.api("GET", "/v1/health")[0] == 200
    done = latchkey.run("token", "work", "--no-autostart")
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def provider_host(provider):
    return urlsplit(provider.url).hostname


# ------------------------------------------------------------------ item 1: URLs on the socket

@pytest.mark.parametrize("url, words", [
    ("http://127.0.0.%D9%A3/", "ASCII"),          # decoded by the socket to a literal ٣
    # The literal digit as raw UTF-8 in the request line: not HTTP/1.1, refused before routing.
    ("http://127.0.0.\u0663/", "not valid HTTP"),
    ("http://127.0.0.%25D9%25A3/", "percent"),    # a host that is itself percent-encoded
    ("http://127.0.0.1:99999/", "port"),
    ("http://127.0.0.1:-80/", "port"),
    ("http://127.0.0.1:%2B80/", "port"),
    ("http://127.0.0.1:%D9%A3/", "port"),
    ("http://[::1/", "bracket"),
])
def test_a_hostile_url_on_the_socket_is_a_400_and_the_daemon_lives(latchkey, provider, person, url, words):
    first = signed_in(latchkey, provider, person)
    for account in ("legacy", "work"):
        status, _, body = latchkey.api("GET", f"/v1/accounts/{account}/header?url={url}")
        assert status == 400, (status, body)
        error = json.loads(body)
        assert error["error"] == "bad_request", error
        assert words in error["message"] and ("url" in error["message"] or words == "not valid HTTP"), error
    assert alive_and_serving(latchkey) == first
    # A good URL still works as before (Basic to loopback over plain http is allowed; no password yet).
    status, _, body = latchkey.api("GET", "/v1/accounts/legacy/header?url=http://127.0.0.1:8080/")
    assert status != 400, body


# ------------------------------------------------------------------ item 2: Retry-After

@pytest.mark.parametrize("value", ["inf", "nan", "1e19", "-1", "99999999999999999999999"])
def test_a_hostile_retry_after_at_sign_in_is_a_clear_error(latchkey, provider, person, value):
    first = signed_in(latchkey, provider, person)
    provider.fault("device_authorization", "status", status=503, retry_after=value, count=1)
    code, _, err, _ = latchkey.login("other", person)
    assert code != 0 and "cannot be reached" in err, err
    assert alive_and_serving(latchkey) == first
    # The next sign-in works.
    code, _, err, _ = latchkey.login("other", person)
    assert code == 0, err


@pytest.mark.parametrize("value", ["inf", "nan", "1e19"])
def test_a_hostile_retry_after_on_refresh_keeps_the_session(latchkey, provider, person, value):
    provider.configure(access_token_lifetime=3)
    signed_in(latchkey, provider, person)
    provider.configure(access_token_lifetime=3600)
    provider.fault("token", "status", status=503, retry_after=value, count=1000)
    before = provider.counters()
    # The token expires while every refresh is refused with the hostile header.
    deadline = time.time() + 30
    while time.time() < deadline and provider.counters()["token_refresh"] == before["token_refresh"]:
        time.sleep(0.2)
    time.sleep(3.5)
    done = latchkey.run("token", "work", "--no-autostart")
    assert done.returncode != 0 and "cannot be reached" in done.stderr, done.stderr
    assert latchkey.process.poll() is None, latchkey.log_text()[-3000:]
    provider.clear_fault("token")
    # A later refresh succeeds by itself, with the refresh token kept: no new sign-in.
    deadline = time.time() + 60
    while time.time() < deadline:
        done = latchkey.run("token", "work", "--no-autostart")
        if done.returncode == 0:
            break
        assert latchkey.process.poll() is None, latchkey.log_text()[-3000:]
        time.sleep(0.5)
    assert done.returncode == 0, done.stderr
    after = provider.counters()
    assert after["token_refresh_ok"] > before["token_refresh_ok"]
    assert after["device_authorization"] == before["device_authorization"]
    assert_no_secrets(latchkey, provider)


# ------------------------------------------------------------------ items 2 and 7: token answers

GOOD = '"access_token": "fresh", "token_type": "Bearer", "refresh_token": "r2"'


@pytest.mark.parametrize("mode, options, words", [
    ("json", {"body": {"access_token": "a", "token_type": "Bearer", "expires_in": -1e300}}, "expires_in"),
    ("json", {"body": {"access_token": "a", "token_type": "Bearer", "expires_in": 1e300}}, "expires_in"),
    ("json", {"body": {"access_token": "a", "token_type": "Bearer", "expires_in": "nan"}}, "expires_in"),
    ("json", {"body": {"access_token": "a", "token_type": "Bearer", "expires_in": "-1e300"}}, "expires_in"),
    ("raw", {"text": '{' + GOOD + ', "expires_in": 1e400}'}, "out of range"),
    ("raw", {"text": '{' + GOOD + ', "expires_in": 0360}'}, "leading zero"),
    ("raw", {"text": '[012]'}, "leading zero"),
    ("raw", {"text": '{' + GOOD + ', "access_token": "second", "expires_in": 60}'}, "access_token"),
    ("raw", {"text": '{' + GOOD + ', "refresh_token": "r3", "expires_in": 60}'}, "refresh_token"),
    ("raw", {"status": 400, "text": '{"error": "invalid_grant", "error": "server_error"}'}, "error"),
])
def test_a_malformed_token_answer_is_refused_naming_the_provider(latchkey, provider, person, mode, options, words):
    first = signed_in(latchkey, provider, person)
    provider.fault("token", mode, count=1, **options)
    forced = latchkey.run("token", "work", "--no-autostart", "--min-valid", "86400")
    # Refused: the token that is still valid keeps being served.
    assert forced.returncode == 0 and forced.stdout.strip() == first, forced.stderr
    assert provider.counters()["token_refresh"] == 1
    failure = [line for line in latchkey.log_text().splitlines() if "token refresh failed" in line]
    assert len(failure) == 1, failure
    assert "malformed" in failure[0] and provider_host(provider) in failure[0] and words in failure[0], failure
    assert alive_and_serving(latchkey) == first
    # The refresh token was not lost: once the provider answers well, a refresh works.
    status, _, body = latchkey.api("GET", "/v1/accounts/work")
    assert status == 200 and json.loads(body)["state"] != "signin_required", body
    deadline = time.time() + 60
    while time.time() < deadline:
        again = latchkey.run("token", "work", "--no-autostart", "--min-valid", "86400")
        if again.stdout.strip() != first:
            break
        time.sleep(0.5)
    assert again.returncode == 0 and again.stdout.strip() != first, again.stderr
    assert provider.counters()["token_refresh_ok"] >= 1
    assert_no_secrets(latchkey, provider)
