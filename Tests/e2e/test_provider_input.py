"""Issue 9, provider input hardening: what a provider answers is never trusted. Oversize
answers are cut off at the cap, absurd or missing fields give clear errors, a token that is
not a JWT is fine (Latchkey never needs to read it), and none of it crashes the daemon or
loses the session."""

import pytest

from test_latchkey_device_flow import assert_no_secrets


@pytest.mark.parametrize("mode, options, words", [
    ("huge", {}, "larger than"),
    ("json", {"body": {"access_token": "a", "token_type": "Bearer", "expires_in": -5}}, "expired at once"),
    ("json", {"body": {"access_token": "a", "token_type": "Bearer", "expires_in": 0}}, "expired at once"),
    ("json", {"body": {"access_token": "a", "token_type": "Bearer", "expires_in": "soon"}}, "not a number"),
    ("json", {"body": {"token_type": "Bearer", "expires_in": 60}}, "no access_token"),
    ("json", {"body": [1, 2]}, "not a JSON object"),
    ("json", {"body": {"access_token": "a", "token_type": "mac", "expires_in": 60}}, "'mac' token"),
])
def test_absurd_refresh_answers_give_clear_errors_and_lose_nothing(latchkey, provider, person, mode, options, words):
    latchkey.write_config('[broker]\nstore = "memory"\n\n' + latchkey.oauth_account("work", provider.url, provider.ca))
    latchkey.start()
    assert latchkey.login("work", person)[0] == 0
    first = latchkey.run("token", "work").stdout.strip()
    provider.fault("token", mode, count=1, **options)
    # A refresh is forced; its answer is refused with a clear reason in the log, and the token
    # that is still valid keeps being served meanwhile (the failure counts as transient).
    forced = latchkey.run("token", "work", "--min-valid", "86400")
    assert forced.returncode == 0 and forced.stdout.strip() == first, forced.stderr
    assert provider.counters()["token_refresh"] == 1
    failure = [line for line in latchkey.log_text().splitlines() if "token refresh failed" in line]
    assert len(failure) == 1 and words in failure[0], failure
    # The daemon lives and the session is not lost: the provider never processed the grant.
    assert latchkey.process.poll() is None
    assert latchkey.run("token", "work").stdout.strip() == first
    status, _, _ = latchkey.api("GET", "/v1/health")
    assert status == 200
    assert_no_secrets(latchkey, provider)


def test_an_opaque_access_token_is_served_and_diagnosed_as_opaque(latchkey, provider, person):
    latchkey.write_config('[broker]\nstore = "memory"\n\n' + latchkey.oauth_account("work", provider.url, provider.ca))
    latchkey.start()
    assert latchkey.login("work", person)[0] == 0
    provider.fault("token", "json", count=1,
                   body={"access_token": "not.a-jwt", "token_type": "Bearer", "expires_in": 3600})
    forced = latchkey.run("token", "work", "--min-valid", "3650")
    assert forced.returncode == 0 and forced.stdout.strip() == "not.a-jwt", forced.stderr
