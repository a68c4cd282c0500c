"""Issue 7, browser sign-in: authorization code + PKCE S256 with a loopback redirect (RFC 8252).

The test plays the browser: it opens the start page that `latchkey login --method browser
--no-browser` prints, follows its redirect to the authorization URL, fills in password and TOTP
on the provider's page, and follows the redirect to the daemon's listener on 127.0.0.1. A wrong `state` is refused by the listener
and a code without its PKCE verifier by the provider."""

import re
import subprocess
import time
from urllib.parse import parse_qs, urlsplit, urlunsplit, urlencode

import requests

from support.provider import PUBLIC_CLIENT
from test_latchkey_device_flow import assert_no_secrets


def configure(latchkey, provider, extra=""):
    latchkey.write_config('[broker]\nstore = "memory"\n\n'
                          + latchkey.oauth_account("work", provider.url, provider.ca, extra=extra))
    latchkey.start()


def start_login(latchkey, *args):
    argv = [str(latchkey.bin / "latchkey"), "login", "work", *args]
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=latchkey.env)
    shown = []
    deadline = time.time() + 30
    while time.time() < deadline:
        line = process.stderr.readline()
        if not line:
            break
        shown.append(line)
        match = re.search(r"^\s+(http://127\.0\.0\.1:\d+/start/\S+)$", line)
        if match:
            return process, open_start_page(match.group(1)), shown
    process.kill()
    raise AssertionError("no authorization URL shown:\n" + "".join(shown))


def open_start_page(start_url):
    """What the browser does first: the listener's start page redirects to the provider's
    authorization URL (issue 15: `state` is never in the link the client prints or opens)."""
    page = requests.get(start_url, allow_redirects=False, timeout=10)
    assert page.status_code == 302, page.text
    location = page.headers["Location"]
    assert re.match(r"https://\S+/authorize\?\S+$", location), location
    return location


def finish(latchkey, process, shown):
    # Read through the same buffered files as start_login (communicate() would skip what
    # their buffers already hold).
    process.wait(timeout=60)
    out, err = process.stdout.read(), "".join(shown) + process.stderr.read()
    latchkey.transcript.append((["latchkey", "login"], process.returncode, out, err))
    return process.returncode, err


def test_browser_sign_in_with_pkce_end_to_end(latchkey, provider, person):
    configure(latchkey, provider)
    process, url, shown = start_login(latchkey, "--method", "browser", "--no-browser")
    query = parse_qs(urlsplit(url).query)
    assert query["code_challenge_method"] == ["S256"] and len(query["code_challenge"][0]) == 43
    assert query["response_type"] == ["code"] and query["client_id"] == [PUBLIC_CLIENT]
    redirect_uri = query["redirect_uri"][0]
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/", redirect_uri)

    location = person.browser_login(url)
    assert location.startswith(redirect_uri)
    page = requests.get(location, timeout=10)
    assert page.status_code == 200 and "Signed in" in page.text
    code, err = finish(latchkey, process, shown)
    assert code == 0, err
    assert "Signed in to 'work'" in err
    assert provider.counters()["token_authorization_code"] == 1

    token = latchkey.run("token", "work").stdout.strip()
    assert provider.resource(token).status_code == 200
    assert "flow=browser" in latchkey.log_text()
    # The code and the verifier are secrets too: neither reaches the log.
    returned = parse_qs(urlsplit(location).query)["code"][0]
    assert returned not in latchkey.log_text()
    assert_no_secrets(latchkey, provider, extra=[returned])


def test_a_wrong_state_is_refused_and_the_right_answer_still_counts(latchkey, provider, person):
    configure(latchkey, provider)
    process, url, shown = start_login(latchkey, "--method", "browser", "--no-browser")
    location = person.browser_login(url)
    parts = urlsplit(location)
    query = parse_qs(parts.query)
    forged = urlunsplit(parts._replace(query=urlencode({"code": query["code"][0], "state": "forged-state"})))
    refused = requests.get(forged, timeout=10)
    assert refused.status_code == 400 and "state does not match" in refused.text
    other_path = requests.get(urlunsplit(parts._replace(path="/favicon.ico", query="")), timeout=10)
    assert other_path.status_code == 404
    assert provider.counters()["token_authorization_code"] == 0, "a forged answer must not be traded"
    assert requests.get(location, timeout=10).status_code == 200
    code, err = finish(latchkey, process, shown)
    assert code == 0, err


def test_a_code_without_its_pkce_verifier_is_refused_by_the_provider(provider, person):
    # What the daemon never does, checked at the provider: a code traded without the verifier.
    from support.provider import pkce_pair
    verifier, challenge = pkce_pair()
    redirect_uri = "http://127.0.0.1:9/"
    location = person.browser_login(provider.authorization_url(redirect_uri, challenge))
    code = parse_qs(urlsplit(location).query)["code"][0]
    resp = provider.token({"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri,
                           "client_id": PUBLIC_CLIENT})
    assert resp.status_code == 400 and resp.json()["error"] in ("invalid_request", "invalid_grant")


def test_the_person_declining_ends_the_sign_in_with_exit_77(latchkey, provider, person):
    configure(latchkey, provider)
    process, url, shown = start_login(latchkey, "--method", "browser", "--no-browser")
    location = person.browser_login(url, deny=True)
    assert requests.get(location, timeout=10).status_code == 200
    code, err = finish(latchkey, process, shown)
    assert code == 77 and "declined" in err


def test_flow_browser_in_the_config_is_the_default_and_ssh_gets_a_tunnel_hint(latchkey, provider, person):
    latchkey.extra_env["SSH_CONNECTION"] = "127.0.0.1 50000 127.0.0.1 22"
    configure(latchkey, provider, extra='flow = "browser"')
    process, url, shown = start_login(latchkey, "--no-browser")
    port = urlsplit(parse_qs(urlsplit(url).query)["redirect_uri"][0]).port
    assert requests.get(person.browser_login(url), timeout=10).status_code == 200
    code, err = finish(latchkey, process, shown)
    assert code == 0, err
    assert f"ssh -N -L {port}:127.0.0.1:{port}" in err


def test_ctrl_c_cancels_the_browser_sign_in_at_the_daemon(latchkey, provider):
    configure(latchkey, provider)
    process, url, shown = start_login(latchkey, "--method", "browser", "--no-browser")
    redirect_uri = parse_qs(urlsplit(url).query)["redirect_uri"][0]
    process.send_signal(2)
    process.communicate(timeout=30)
    deadline = time.time() + 10
    while time.time() < deadline and "sign-in cancelled" not in latchkey.log_text():
        time.sleep(0.1)
    assert "sign-in cancelled" in latchkey.log_text()
    # The listener is gone with the sign-in.
    deadline = time.time() + 5
    while time.time() < deadline:
        try:
            requests.get(redirect_uri, timeout=2)
        except requests.ConnectionError:
            break
        time.sleep(0.2)
    else:
        raise AssertionError("the loopback listener still answers after the sign-in was cancelled")


def test_a_device_sign_in_refused_by_conditional_access_offers_the_browser(latchkey, provider, person):
    configure(latchkey, provider)
    provider.configure(microsoft=True)
    provider.fault("device_authorization", "status", status=400, error="invalid_grant", error_codes=[53003],
                   error_description="AADSTS53003: Access has been blocked by Conditional Access policies.")
    done = latchkey.run("login", "work")
    assert done.returncode == 77, done.stderr
    assert "The tenant's policy refuses this sign-in" in done.stderr
    assert "latchkey login work --method browser" in done.stderr
    # And the browser sign-in it offers works.
    provider.clear_fault("device_authorization")
    process, url, shown = start_login(latchkey, "--method", "browser", "--no-browser")
    assert requests.get(person.browser_login(url), timeout=10).status_code == 200
    code, err = finish(latchkey, process, shown)
    assert code == 0, err
