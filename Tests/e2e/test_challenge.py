"""Issue 7, step-up: a sync client reports the 401 it got (`latchkey challenge` / `POST
…/challenge`). An `insufficient_claims` challenge drops the cached token, and the next refresh
(or sign-in) carries the `claims` parameter, which the provider records; the refused token is
never handed out again."""

import base64
import json

from test_latchkey_device_flow import assert_no_secrets

CLAIMS = {"access_token": {"nbf": {"essential": True, "value": "1700000000"}}}
CHALLENGE = ('Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", '
             'error="insufficient_claims", claims="' + base64.b64encode(json.dumps(CLAIMS).encode()).decode() + '"')


def signed_in(latchkey, provider, person):
    latchkey.write_config('[broker]\nstore = "memory"\n\n' + latchkey.oauth_account("work", provider.url, provider.ca))
    latchkey.start()
    code, _, err, _ = latchkey.login("work", person)
    assert code == 0, err
    token = latchkey.run("token", "work").stdout.strip()
    assert token
    return token


def test_a_claims_challenge_is_answered_by_a_refresh_carrying_the_claims(latchkey, provider, person):
    old = signed_in(latchkey, provider, person)
    assert provider.counters()["last_claims"] is None
    done = latchkey.run("challenge", "work", "--www-authenticate", CHALLENGE)
    assert done.returncode == 0, done.stderr
    assert "carries the claims" in done.stderr
    new = latchkey.run("token", "work").stdout.strip()
    assert new and new != old
    counters = provider.counters()
    assert counters["token_refresh"] == 1
    assert json.loads(counters["last_claims"]) == CLAIMS
    # The refused token never comes back; the new one is served from the cache, no more refreshes.
    for _ in range(5):
        assert latchkey.run("token", "work").stdout.strip() == new
    assert provider.counters()["token_refresh"] == 1
    assert provider.resource(new).status_code == 200
    status, _, body = latchkey.api("GET", "/v1/accounts/work")
    assert status == 200 and json.loads(body)["state"] == "valid"
    assert_no_secrets(latchkey, provider)


def test_the_socket_api_answers_with_what_happens_next(latchkey, provider, person):
    signed_in(latchkey, provider, person)
    body = json.dumps({"www_authenticate": 'Bearer error="invalid_token", error_description="expired"'}).encode()
    status, _, answer = unix_http_post(latchkey.socket, "/v1/accounts/work/challenge", body)
    assert status == 200, answer
    answer = json.loads(answer)
    assert answer["account"] == "work" and answer["action"] == "refresh" and "state" in answer
    assert latchkey.run("token", "work").returncode == 0
    counters = provider.counters()
    assert counters["token_refresh"] == 1 and counters["last_claims"] is None


def test_a_challenge_before_sign_in_rides_on_the_sign_in(latchkey, provider, person):
    latchkey.write_config('[broker]\nstore = "memory"\n\n' + latchkey.oauth_account("work", provider.url, provider.ca))
    latchkey.start()
    done = latchkey.run("challenge", "work", "--www-authenticate", CHALLENGE, "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["action"] == "signin"
    code, _, err, _ = latchkey.login("work", person)
    assert code == 0, err
    assert json.loads(provider.counters()["last_claims"]) == CLAIMS


def test_bad_challenges_are_refused_clearly_and_change_nothing(latchkey, provider, person):
    token = signed_in(latchkey, provider, person)
    for value, words in [
        ('Negotiate', "holds no Bearer challenge"),
        ('Bearer realm="x"', "names no error Latchkey can act on"),
        ('Bearer error="insufficient_claims", claims="%%%"', "neither base64 nor JSON"),
        ('Bearer error="insufficient_claims", claims="' + base64.b64encode(b"[1,2]").decode() + '"',
         "not a JSON object"),
    ]:
        done = latchkey.run("challenge", "work", "--www-authenticate", value)
        assert done.returncode == 64, (value, done.stderr)
        assert words in done.stderr
    assert latchkey.run("token", "work").stdout.strip() == token
    assert provider.counters()["token_refresh"] == 0


def unix_http_post(path, target, body):
    import socket
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(10)
        s.connect(path)
        s.sendall(f"POST {target} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                  f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode() + body)
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), head.decode(), rest.decode()
