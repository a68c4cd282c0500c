"""The Kerberos realm and Apache of the test environment work as the other tests assume.

Needs scripts/testenv/{ca,kerberos,apache}.sh started and $LATCHKEY_TESTENV/env.sh sourced.
Without the exported variables these tests skip, or fail when LATCHKEY_INTEGRATION=1.
Every test uses its own ticket cache (KRB5CCNAME=FILE:… in a temp dir) and the test
krb5.conf (KRB5_CONFIG); nothing global is changed. Tests that stop something restart it.
"""
import datetime
import http.server
import os
import re
import shutil
import subprocess
import threading
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPTS = REPO / "scripts" / "testenv"
REQUIRED = ["LATCHKEY_TEST_KRB5_CONFIG", "LATCHKEY_TEST_REALM", "LATCHKEY_TEST_KDC_PORT",
            "LATCHKEY_TEST_APACHE_HTTP", "LATCHKEY_TEST_APACHE_HTTPS"]

ALICE_PW = "alice-Kerberos-1"
ALICE_BASIC_PW = "alice-Basic-pass-1"


@pytest.fixture(scope="module")
def env():
    missing = [v for v in REQUIRED if not os.environ.get(v)]
    missing += [t for t in ("kinit", "klist", "kvno", "curl") if not shutil.which(t)]
    if missing:
        msg = f"test environment not set up (missing: {', '.join(missing)}); " \
              "run scripts/testenv/{ca,kerberos,apache}.sh start and source $LATCHKEY_TESTENV/env.sh"
        if os.environ.get("LATCHKEY_INTEGRATION") == "1":
            pytest.fail(msg, pytrace=False)
        pytest.skip(msg)
    e = {k: os.environ[k] for k in os.environ}
    krb5_conf = Path(e["LATCHKEY_TEST_KRB5_CONFIG"])
    e.setdefault("LATCHKEY_TESTENV", str(krb5_conf.parent.parent))
    return e


@pytest.fixture
def kenv(env, tmp_path):
    """Environment for Kerberos clients: the test realm, a private empty ticket cache."""
    e = dict(env)
    for var in ("KRB5_KTNAME", "KRB5_CLIENT_KTNAME", "KRB5_TRACE", "http_proxy", "https_proxy",
                "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "all_proxy", "CURL_CA_BUNDLE", "SSL_CERT_FILE"):
        e.pop(var, None)
    e["KRB5_CONFIG"] = env["LATCHKEY_TEST_KRB5_CONFIG"]
    e["KRB5CCNAME"] = f"FILE:{tmp_path}/ccache"
    e["LC_ALL"] = "C"
    e["TZ"] = "UTC"
    return e


def run(args, e, stdin=None, timeout=30):
    return subprocess.run(args, input=stdin, env=e, capture_output=True, text=True, timeout=timeout)


def kinit(e, principal, password, extra=()):
    return run(["kinit", *extra, principal], e, stdin=password + "\n")


def port(url):
    return int(url.rsplit(":", 1)[1].rstrip("/"))


def http_port(env):
    return port(env["LATCHKEY_TEST_APACHE_HTTP"])


def curl(e, url, *args):
    """Run curl; return (status, headers as a list of (lowercase name, value), body)."""
    p = run(["curl", "-s", "-S", "--noproxy", "*", "--max-time", "10", "-D", "-", *args, url], e)
    assert p.returncode == 0, f"curl {url} failed: {p.stderr}"
    # -D - prints every response head (a 401 before a retried request too): keep the last.
    blocks, rest = [], p.stdout
    while rest.startswith("HTTP/"):
        head, _, rest = rest.partition("\n\n")   # text mode: \r\n arrives as \n
        blocks.append(head)
    assert blocks, f"no HTTP response from {url}: {p.stdout!r}"
    lines = blocks[-1].split("\n")
    status = int(lines[0].split()[1])
    headers = [(k.strip().lower(), v.strip()) for k, _, v in (ln.partition(":") for ln in lines[1:])]
    return status, headers, rest


def header_values(headers, name):
    return [v for k, v in headers if k == name]


def test_alice_kinit_and_negotiate(env, kenv):
    realm = env["LATCHKEY_TEST_REALM"]
    p = kinit(kenv, "alice", ALICE_PW, extra=("-r", "1d"))
    assert p.returncode == 0, p.stdout + p.stderr
    k = run(["klist", "-f"], kenv)
    assert f"krbtgt/{realm}@{realm}" in k.stdout
    assert re.search(r"Flags: \w*R", k.stdout), f"alice's TGT is not renewable:\n{k.stdout}"

    # SPN from the host name: use "localhost", never 127.0.0.1, with curl --negotiate.
    url = f"http://localhost:{http_port(env)}/krb/"
    status, headers, body = curl(kenv, url, "--negotiate", "-u", ":")
    assert status == 200, body
    assert header_values(headers, "x-remote-user") == [f"alice@{realm}"]
    assert f"alice@{realm}" in body

    # No session: a second request needs (and gets) a fresh token and works too.
    status, _, _ = curl(kenv, url, "--negotiate", "-u", ":")
    assert status == 200


def test_no_ticket_gives_401_negotiate(env, kenv):
    url = f"http://localhost:{http_port(env)}/krb/"
    status, headers, _ = curl(kenv, url, "--negotiate", "-u", ":")
    assert status == 401
    assert header_values(headers, "www-authenticate") == ["Negotiate"]
    status, headers, _ = curl(kenv, url)
    assert status == 401
    assert header_values(headers, "www-authenticate") == ["Negotiate"], "/krb/ must offer only Negotiate"


def test_both_offers_negotiate_and_basic(env, kenv):
    realm = env["LATCHKEY_TEST_REALM"]
    url = f"http://localhost:{http_port(env)}/both/"
    status, headers, _ = curl(kenv, url)
    assert status == 401
    challenges = header_values(headers, "www-authenticate")
    assert "Negotiate" in challenges
    assert 'Basic realm="Latchkey Test"' in challenges
    # Basic on /both/ is checked against the KDC: the Kerberos password works.
    status, headers, _ = curl(kenv, url, "-u", f"alice:{ALICE_PW}")
    assert status == 200
    assert header_values(headers, "x-remote-user") == [f"alice@{realm}"]
    status, _, _ = curl(kenv, url, "-u", "alice:wrong-password")
    assert status == 401
    # And Negotiate works there too.
    assert kinit(kenv, "alice", ALICE_PW).returncode == 0
    status, headers, _ = curl(kenv, url, "--negotiate", "-u", ":")
    assert status == 200
    assert header_values(headers, "x-remote-user") == [f"alice@{realm}"]


def test_basic_only(env, kenv):
    url = f"{env['LATCHKEY_TEST_APACHE_HTTP']}/basic/"
    status, headers, _ = curl(kenv, url)
    assert status == 401
    assert header_values(headers, "www-authenticate") == ['Basic realm="Latchkey Test"']
    status, headers, body = curl(kenv, url, "-u", f"alice:{ALICE_BASIC_PW}")
    assert status == 200
    assert header_values(headers, "x-remote-user") == ["alice"]
    assert "ok alice" in body
    status, _, _ = curl(kenv, url, "-u", "alice:wrong-password")
    assert status == 401


def test_open_needs_no_auth(env, kenv):
    status, headers, body = curl(kenv, f"{env['LATCHKEY_TEST_APACHE_HTTP']}/open/")
    assert status == 200
    assert header_values(headers, "date")
    assert not header_values(headers, "www-authenticate")
    assert not header_values(headers, "x-remote-user")
    assert body == "ok\n"


def test_https_with_cacert(env, kenv):
    realm = env["LATCHKEY_TEST_REALM"]
    ca = Path(env["LATCHKEY_TESTENV"]) / "ca" / "ca.pem"
    https = env["LATCHKEY_TEST_APACHE_HTTPS"]
    assert https.startswith("https://localhost:")
    status, _, _ = curl(kenv, f"{https}/open/", "--cacert", str(ca))
    assert status == 200
    # The certificate also names 127.0.0.1.
    status, _, _ = curl(kenv, f"https://127.0.0.1:{port(https)}/open/", "--cacert", str(ca))
    assert status == 200
    # Without the CA, verification fails.
    p = run(["curl", "-s", "--noproxy", "*", "-o", "/dev/null", f"{https}/open/"], kenv)
    assert p.returncode == 60, p.stderr
    assert kinit(kenv, "alice", ALICE_PW).returncode == 0
    status, headers, _ = curl(kenv, f"{https}/krb/", "--cacert", str(ca), "--negotiate", "-u", ":")
    assert status == 200
    assert header_values(headers, "x-remote-user") == [f"alice@{realm}"]
    status, headers, _ = curl(kenv, f"{https}/basic/", "--cacert", str(ca), "-u", f"alice:{ALICE_BASIC_PW}")
    assert status == 200


class _Capture(http.server.BaseHTTPRequestHandler):
    """Answers 401 Negotiate, and records the Authorization header curl then sends."""
    captured = []

    def do_GET(self):
        auth = self.headers.get("Authorization")
        if auth:
            self.captured.append(auth)
            self.send_response(403)
        else:
            self.send_response(401)
            self.send_header("WWW-Authenticate", "Negotiate")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def fresh_token(kenv):
    """A Negotiate token for HTTP@localhost that Apache has never seen: curl sends it to a
    capturing server on loopback (same host name, so the same SPN) instead of Apache."""
    _Capture.captured = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Capture)
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    try:
        run(["curl", "-s", "--noproxy", "*", "--max-time", "10", "-4", "--negotiate", "-u", ":",
             "-o", "/dev/null", f"http://localhost:{server.server_address[1]}/"], kenv)
    finally:
        server.shutdown()
        server.server_close()
    assert _Capture.captured, "curl sent no Negotiate token"
    token = _Capture.captured[0]
    assert token.startswith("Negotiate ")
    return token


def test_replayed_token_is_refused(env, kenv):
    realm = env["LATCHKEY_TEST_REALM"]
    assert kinit(kenv, "alice", ALICE_PW).returncode == 0
    token = fresh_token(kenv)
    url = f"http://localhost:{http_port(env)}/krb/"
    status, headers, _ = curl(kenv, url, "-H", f"Authorization: {token}")
    assert status == 200, "a fresh token must be accepted once"
    assert header_values(headers, "x-remote-user") == [f"alice@{realm}"]
    status, _, _ = curl(kenv, url, "-H", f"Authorization: {token}")
    assert status == 401, "a replayed Negotiate token must be refused"
    # The refusal is the replay cache, as Apache's log says.
    log = Path(env["LATCHKEY_TESTENV"]) / "apache" / "logs" / "error.log"
    assert "Request is a replay" in log.read_text(errors="replace")


def _ticket_lifetimes(klist_output):
    """(service, seconds) for every ticket in `klist` output (LC_ALL=C, TZ=UTC)."""
    out = []
    for m in re.finditer(r"^(\d\d/\d\d/\d\d \d\d:\d\d:\d\d)\s+(\d\d/\d\d/\d\d \d\d:\d\d:\d\d)\s+(\S+)",
                         klist_output, re.M):
        start, end = (datetime.datetime.strptime(s, "%m/%d/%y %H:%M:%S") for s in m.group(1, 2))
        out.append((m.group(3), (end - start).total_seconds()))
    return out


def test_shorty_tickets_last_two_minutes_at_most(env, kenv):
    p = kinit(kenv, "shorty", "shorty-Kerberos-1")
    assert p.returncode == 0, p.stdout + p.stderr
    p = run(["kvno", "HTTP/localhost"], kenv)
    assert p.returncode == 0, p.stderr
    k = run(["klist"], kenv)
    lifetimes = _ticket_lifetimes(k.stdout)
    assert len(lifetimes) == 2, k.stdout
    for service, seconds in lifetimes:
        assert 0 < seconds <= 120, f"{service} lasts {seconds} s:\n{k.stdout}"

    # For contrast, alice's tickets last hours.
    kinit(kenv, "alice", ALICE_PW)
    (service, seconds), = _ticket_lifetimes(run(["klist"], kenv).stdout)
    assert seconds > 3600


def test_carol_password_has_expired(env, kenv):
    # Only the old password on stdin: kinit asks for a new one and hits end of input.
    p = kinit(kenv, "carol", "carol-Old-pass-1")
    out = p.stdout + p.stderr
    assert p.returncode != 0
    assert "Password expired" in out, out
    # A short new password is refused by kadmind with the policy's reason; carol is unchanged.
    p = run(["kinit", "carol"], kenv, stdin="carol-Old-pass-1\nshort-1\nshort-1\n")
    out = p.stdout + p.stderr
    assert p.returncode != 0
    assert "Password change rejected" in out and "too short" in out, out
    # Still expired (nothing was changed).
    p = kinit(kenv, "carol", "carol-Old-pass-1")
    assert "Password expired" in p.stdout + p.stderr


def test_kdc_stop_and_start(env, kenv):
    script = SCRIPTS / "kerberos.sh"
    subprocess.run(["bash", str(script), "kdc-stop"], env=env, check=True, timeout=30)
    try:
        p = kinit(kenv, "alice", ALICE_PW)
        assert p.returncode != 0
        assert "Cannot contact any KDC" in p.stderr, p.stderr
    finally:
        subprocess.run(["bash", str(script), "kdc-start"], env=env, check=True, timeout=30)
    p = kinit(kenv, "alice", ALICE_PW)
    assert p.returncode == 0, p.stdout + p.stderr
    # Same port as before (the port in krb5.conf did not change).
    conf = Path(env["LATCHKEY_TEST_KRB5_CONFIG"]).read_text()
    assert f"127.0.0.1:{env['LATCHKEY_TEST_KDC_PORT']}" in conf
