"""Issue 5 end to end: Negotiate headers through GSSAPI against a real MIT KDC and Apache with
mod_auth_gssapi; Kerberos sign-in with every prompt relayed (including an expired password's
change); short tickets; KDC down and wrong SPN."""

import json
import os
import re
import subprocess
import time

import pytest

from conftest import require_env
from support.latchkey import unix_http

ALICE = ("alice", "alice-Kerberos-1")


@pytest.fixture
def realm(tmp_path):
    krb5_config, realm_name, port, testenv = require_env(
        "LATCHKEY_TEST_KRB5_CONFIG", "LATCHKEY_TEST_REALM", "LATCHKEY_TEST_APACHE_HTTP_PORT", "LATCHKEY_TESTENV")
    script = os.path.join(os.path.dirname(__file__), "..", "..", "scripts", "testenv", "kerberos.sh")

    class Realm:
        name = realm_name
        config = krb5_config
        cache = f"FILE:{tmp_path}/krb5cc"
        url = f"http://localhost:{port}/krb/"

        def env(self):
            return {"KRB5_CONFIG": krb5_config, "KRB5CCNAME": self.cache}

        def kinit(self, user, password):
            subprocess.run(["kinit", f"{user}@{realm_name}"], input=password + "\n", text=True, check=True,
                           capture_output=True, env={**os.environ, **self.env()}, timeout=30)

        def do(self, action, *args):
            subprocess.run(["bash", script, action, *args], check=True, capture_output=True, timeout=60)

        def get(self, header):
            done = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-H", header, self.url],
                                  capture_output=True, text=True, timeout=30)
            return int(done.stdout)

    r = Realm()
    yield r
    r.do("kdc-start")


def configure(latchkey, realm, name="krb", principal="alice", extra=""):
    latchkey.extra_env = realm.env()
    latchkey.write_config(f'[broker]\nstore = "memory"\n\n[accounts.{name}]\nmethod = "kerberos"\n'
                          f'principal = "{principal}@{realm.name}"\nurl = "{realm.url}"\n{extra}\n')


def secrets_absent(latchkey, passwords, tokens):
    text = latchkey.everything_printed()
    for secret in passwords:
        assert secret not in text, "a password reached a log or an output"
    log = latchkey.log_text()
    for token in tokens:
        assert token not in log, "a SPNEGO token reached the log"


def test_negotiate_header_from_a_kinit_ticket_is_fresh_every_time(latchkey, realm):
    realm.kinit(*ALICE)
    configure(latchkey, realm)
    latchkey.start()
    first = latchkey.run("header", "krb", "--url", realm.url)
    second = latchkey.run("header", "krb", "--url", realm.url)
    assert first.returncode == 0, first.stderr
    one, two = first.stdout.strip(), second.stdout.strip()
    assert one.startswith("Authorization: Negotiate ") and two.startswith("Authorization: Negotiate ")
    assert one != two  # single-use tokens: a new one per call
    assert realm.get(one) == 200 and realm.get(two) == 200
    assert realm.get(one) == 401  # Apache's replay cache refuses a second use
    status = latchkey.run("status", "krb", "--json")
    assert '"state":"valid"' in status.stdout and '"method":"kerberos"' in status.stdout
    secrets_absent(latchkey, [ALICE[1]], [one.split()[-1], two.split()[-1]])


def test_no_ticket_says_how_to_sign_in(latchkey, realm):
    configure(latchkey, realm)
    latchkey.start()
    done = latchkey.run("header", "krb")
    assert done.returncode == 77
    assert "No usable Kerberos credentials" in done.stderr and "latchkey login krb" in done.stderr


def test_login_relays_the_password_prompt(latchkey, realm):
    configure(latchkey, realm)
    latchkey.start()
    done = latchkey.run("login", "krb", input=ALICE[1] + "\n")
    assert done.returncode == 0, done.stderr
    assert "Password for alice@LATCHKEY.TEST" in done.stderr and "Signed in to 'krb'" in done.stderr
    header = latchkey.run("header", "krb").stdout.strip()
    assert realm.get(header) == 200
    secrets_absent(latchkey, [ALICE[1]], [header.split()[-1]])


def test_expired_password_change_is_relayed_with_the_kdc_reason(latchkey, realm):
    configure(latchkey, realm, name="carol", principal="carol")
    latchkey.start()
    new = "carol-New-pass-2026"
    answers = ["carol-Old-pass-1", "Tiny-9", "Tiny-9", new, new]
    try:
        done = latchkey.run("login", "carol", input="\n".join(answers) + "\n", timeout=90)
        assert done.returncode == 0, done.stderr
        text = done.stderr
        assert re.search(r"expired", text, re.I) and "Enter new password" in text and "Enter it again" in text
        assert "too short" in text  # the KDC's reason reached the person
        header = latchkey.run("header", "carol").stdout.strip()
        assert realm.get(header) == 200
        secrets_absent(latchkey, answers, [header.split()[-1]])
    finally:
        realm.do("reset")


def test_a_short_ticket_is_never_used_past_min_valid(latchkey, realm):
    realm.kinit("shorty", "shorty-Kerberos-1")  # a 2-minute ticket
    configure(latchkey, realm, name="shorty", principal="shorty", extra='min_valid = "115s"')
    latchkey.start()
    assert latchkey.run("header", "shorty").returncode == 0
    time.sleep(6)  # now less than 115 s are left
    done = latchkey.run("header", "shorty")
    assert done.returncode == 77
    assert "less than the 115 s" in done.stderr


def test_a_remembered_password_reacquires_short_tickets(latchkey, realm):
    configure(latchkey, realm, name="shorty", principal="shorty", extra='min_valid = "115s"\nremember_password = true')
    latchkey.start()
    assert latchkey.run("login", "shorty", input="shorty-Kerberos-1\n").returncode == 0
    time.sleep(6)
    done = latchkey.run("header", "shorty")
    assert done.returncode == 0, done.stderr
    assert realm.get(done.stdout.strip()) == 200
    assert "acquired again with the remembered password" in latchkey.log_text()
    secrets_absent(latchkey, ["shorty-Kerberos-1"], [])


def test_kdc_down_is_temporary(latchkey, realm):
    realm.kinit(*ALICE)
    configure(latchkey, realm)
    latchkey.start()
    realm.do("kdc-stop")
    done = latchkey.run("header", "krb")
    assert done.returncode == 75
    assert "Cannot reach the KDC" in done.stderr
    realm.do("kdc-start")
    assert latchkey.run("header", "krb").returncode == 0


def test_wrong_spn_has_its_own_message(latchkey, realm):
    realm.kinit(*ALICE)
    configure(latchkey, realm, extra='service = "HTTP@nohost.invalid"')
    latchkey.start()
    done = latchkey.run("header", "krb")
    assert done.returncode == 78
    assert "does not know the service HTTP@nohost.invalid" in done.stderr


def test_fallback_to_basic_when_kerberos_cannot_work(latchkey, realm):
    """fallback = ["basic"]: when Kerberos cannot work for the service (here the KDC does not
    know its SPN), the remembered password gives a Basic header (Apache's /both/ checks Basic
    against the KDC), and status says why."""
    both = realm.url.replace("/krb/", "/both/")
    latchkey.extra_env = realm.env()
    latchkey.write_config('[broker]\nstore = "memory"\n\n[accounts.krb]\nmethod = "kerberos"\n'
                          f'principal = "alice@{realm.name}"\nurl = "{both}"\nremember_password = true\n'
                          'service = "HTTP@mail.nowhere.invalid"\nfallback = ["basic"]\n')
    latchkey.start()
    assert latchkey.run("login", "krb", input=ALICE[1] + "\n").returncode == 0
    fallback = latchkey.run("header", "krb")
    assert fallback.returncode == 0, fallback.stderr
    header = fallback.stdout.strip()
    assert header.startswith("Authorization: Basic ")
    done = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-H", header, both],
                          capture_output=True, text=True, timeout=30)
    assert done.stdout == "200"
    status = latchkey.run("status", "krb", "--json").stdout
    assert "using the Basic fallback" in status and "does not know the service" in status
    assert "falling back to Basic" in latchkey.log_text()
    secrets_absent(latchkey, [ALICE[1]], [])


def test_clock_skew_has_its_own_message(latchkey, realm):
    realm.kinit(*ALICE)
    configure(latchkey, realm)
    # This machine's clock 15 minutes ahead of the KDC's: libfaketime preloaded into the daemon
    # only, through `env`, which execs in place (the faketime wrapper forks, and the test could
    # not stop the daemon by its PID).
    libfaketime = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"
    assert os.path.exists(libfaketime), "faketime is not installed (scripts/install-deps.sh installs it)"
    latchkey.start(prefix=["env", f"LD_PRELOAD={libfaketime}", "FAKETIME=+15m", "DONT_FAKE_MONOTONIC=1"])
    done = latchkey.run("header", "krb")
    assert done.returncode == 78, done.stderr
    assert "clocks of this machine and the KDC differ too much" in done.stderr
    assert "timedatectl" in done.stderr


def test_the_sign_in_forecast_of_a_kerberos_account_comes_from_the_kdc(latchkey, realm):
    # dora's tickets are renewable for 5 hours. The KDC reports her password's expiry at
    # sign-in: the forecast is the earlier of the two, to the second.
    configure(latchkey, realm, name="dora", principal="dora")
    latchkey.start()
    expires = int(time.time()) + 3 * 3600
    realm.do("pwexpire", "dora", time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(expires)))
    done = latchkey.run("login", "dora", input="dora-Kerberos-1\n")
    assert done.returncode == 0, done.stderr
    assert re.search(r"Your password will expire in [23] hours", done.stderr), done.stderr  # the warning, relayed
    listed = json.loads(latchkey.run("status", "dora", "--json").stdout)
    assert listed["signin_needed_by"] == expires, listed
    assert "password expires" in listed["signin_reason"]
    shown = latchkey.run("status").stdout
    assert "dora: sign-in needed by" in shown and "password expires" in shown, shown
    _, _, metrics = unix_http(latchkey.socket, "GET", "/metrics")
    assert b'latchkey_signin_needed_seconds{account="dora"}' in metrics
    # A password good for longer: the end of the ticket's renewable life comes first.
    realm.do("pwexpire", "dora", time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(expires + 6 * 3600)))
    before = time.time()
    assert latchkey.run("login", "dora", input="dora-Kerberos-1\n").returncode == 0
    after = time.time()
    listed = json.loads(latchkey.run("status", "dora", "--json").stdout)
    # The KDC's times are whole seconds, taken between the two readings.
    assert int(before) + 5 * 3600 - 1 <= listed["signin_needed_by"] <= after + 5 * 3600 + 1, (before, listed, after)
    assert "renew-till" in listed["signin_reason"]
    realm.do("pwexpire", "dora", "never")

