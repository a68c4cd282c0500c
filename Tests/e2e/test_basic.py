"""The Basic method, the last resort: the password is asked without echo, checked against the
service once and kept in the store; it is sent only over https (plain http only to loopback)."""

import os
import re
import subprocess

import pytest

from conftest import require_env

PASSWORD = "alice-Basic-pass-1"


@pytest.fixture
def apache(provider_env):
    https_port, ca = require_env("LATCHKEY_TEST_APACHE_HTTPS_PORT", "LATCHKEY_TEST_CA")
    return {"url": f"https://localhost:{https_port}/basic/", "ca": ca}


def configure(latchkey, url, ca, extra=""):
    latchkey.write_config('[broker]\nstore = "memory"\n\n[accounts.legacy]\nmethod = "basic"\n'
                          f'username = "alice"\nurl = "{url}"\nca_file = "{ca}"\n{extra}\n')


def test_basic_login_checks_the_password_once_and_the_header_works(latchkey, apache):
    configure(latchkey, apache["url"], apache["ca"])
    latchkey.start()
    done = latchkey.run("login", "legacy", input="wrong-password\n" + PASSWORD + "\n")
    assert done.returncode == 0, done.stderr
    assert "refused that password" in done.stderr and "Signed in to 'legacy'" in done.stderr
    # Signed in is what status says (issue 16: the Basic state lived outside any machine and
    # stayed signed_out), and a logout says signed_out again.
    assert '"state":"valid"' in latchkey.run("status", "legacy", "--json").stdout
    header = latchkey.run("header", "legacy").stdout.strip()
    assert header.startswith("Authorization: Basic ")
    code = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--cacert", apache["ca"],
                           "-H", header, apache["url"]], capture_output=True, text=True, timeout=30).stdout
    assert code == "200"
    log = latchkey.log_text()
    # The audit line names the scheme handed out (issue 16: it said "Negotiate" for Basic).
    assert re.search(r"account=legacy .*scheme=Basic .*credential handed out", log), log
    assert PASSWORD not in log and "wrong-password" not in log
    assert PASSWORD not in done.stderr
    assert latchkey.run("logout", "legacy").returncode == 0
    assert '"state":"signed_out"' in latchkey.run("status", "legacy", "--json").stdout


def test_basic_is_never_sent_over_plain_http_to_another_host(latchkey, apache):
    configure(latchkey, "http://mail.example.org/Microsoft-Server-ActiveSync", apache["ca"])
    latchkey.start()
    done = latchkey.run("header", "legacy")
    assert done.returncode == 77
    assert "refuses to send a Basic password over http://" in done.stderr
    login = latchkey.run("login", "legacy", input=PASSWORD + "\n")
    assert login.returncode == 77 and "refuses to send a Basic password" in login.stderr


def test_no_password_yet(latchkey, apache):
    configure(latchkey, apache["url"], apache["ca"])
    latchkey.start()
    done = latchkey.run("header", "legacy")
    assert done.returncode == 77 and "latchkey login legacy" in done.stderr
