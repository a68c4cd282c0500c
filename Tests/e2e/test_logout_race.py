"""Issue 16: a logout stays a logout, even when it lands while a sign-in is committing.

Every sign-in method (device, browser, Basic, Kerberos) is held at its commit (the debug-only
pause point `signin.commit`, between the last check of the session and the store writes) while
`latchkey logout` runs; then it is let go. The sign-in must end as signed out, keep nothing in
the store and serve nothing: status says signed_out, the token or header is refused, and the
log's last word on the account is "signed out"."""

import os
import re
import threading
import time

import requests

from conftest import require_env
from test_basic import PASSWORD as BASIC_PASSWORD, configure as configure_basic
from test_browser_flow import start_login, finish
from test_kerberos import ALICE, configure as configure_kerberos, realm  # noqa: F401 (fixture)

POINT = "signin.commit"


def arm(latchkey):
    folder = latchkey.root / "pause"
    folder.mkdir(exist_ok=True)
    latchkey.extra_env = {**latchkey.extra_env, "LATCHKEY_TEST_PAUSE_AT": POINT,
                          "LATCHKEY_TEST_PAUSE_DIR": str(folder)}
    return folder


def logout_at_the_commit(latchkey, folder, account):
    """Waits until the sign-in is held at its commit, signs out, then lets the sign-in go on."""
    deadline = time.time() + 60
    while not (folder / f"{POINT}.reached").exists():
        assert time.time() < deadline, "the sign-in never reached its commit:\n" + latchkey.log_text()
        time.sleep(0.05)
    done = latchkey.run("logout", account)
    assert done.returncode == 0, done.stderr
    (folder / f"{POINT}.go").touch()


def assert_signed_out(latchkey, account, login_code, login_err):
    assert login_code == 77, login_err
    assert "signed out during the sign-in" in login_err
    status = latchkey.run("status", account, "--json").stdout
    assert '"state":"signed_out"' in status, status
    log = latchkey.log_text()
    said = re.findall(r"account=" + account + r"\b.*\] (signed in|signed out)$", log, re.M)
    assert said and said[-1] == "signed out", said


def test_logout_during_a_basic_sign_in_stays_a_logout(latchkey, provider_env):
    https_port, ca = require_env("LATCHKEY_TEST_APACHE_HTTPS_PORT", "LATCHKEY_TEST_CA")
    configure_basic(latchkey, f"https://localhost:{https_port}/basic/", ca)
    folder = arm(latchkey)
    latchkey.start()
    result = {}
    thread = threading.Thread(target=lambda: result.update(done=latchkey.run("login", "legacy", input=BASIC_PASSWORD + "\n")))
    thread.start()
    logout_at_the_commit(latchkey, folder, "legacy")
    thread.join(60)
    assert_signed_out(latchkey, "legacy", result["done"].returncode, result["done"].stderr)
    header = latchkey.run("header", "legacy")
    assert header.returncode == 77 and "no password" in header.stderr, header.stdout + header.stderr


def test_logout_during_a_device_sign_in_stays_a_logout(latchkey, provider, person):
    latchkey.write_config('[broker]\nstore = "memory"\n\n' + latchkey.oauth_account("work", provider.url, provider.ca))
    folder = arm(latchkey)
    latchkey.start()
    result = {}
    thread = threading.Thread(target=lambda: result.update(done=latchkey.login("work", person)))
    thread.start()
    logout_at_the_commit(latchkey, folder, "work")
    thread.join(120)
    code, _, err, _ = result["done"]
    assert_signed_out(latchkey, "work", code, err)
    assert latchkey.run("token", "work").returncode == 77


def test_logout_during_a_browser_sign_in_stays_a_logout(latchkey, provider, person):
    latchkey.write_config('[broker]\nstore = "memory"\n\n' + latchkey.oauth_account("work", provider.url, provider.ca))
    folder = arm(latchkey)
    latchkey.start()
    process, url, shown = start_login(latchkey, "--method", "browser", "--no-browser")
    location = person.browser_login(url)
    browser = threading.Thread(target=lambda: requests.get(location, timeout=60))
    browser.start()
    logout_at_the_commit(latchkey, folder, "work")
    code, err = finish(latchkey, process, shown)
    browser.join(60)
    assert_signed_out(latchkey, "work", code, err)
    assert latchkey.run("token", "work").returncode == 77


def test_logout_during_a_kerberos_sign_in_stays_a_logout(latchkey, realm):  # noqa: F811
    configure_kerberos(latchkey, realm, extra="remember_password = true")
    folder = arm(latchkey)
    latchkey.start()
    result = {}
    thread = threading.Thread(target=lambda: result.update(done=latchkey.run("login", "krb", input=ALICE[1] + "\n")))
    thread.start()
    logout_at_the_commit(latchkey, folder, "krb")
    thread.join(60)
    assert_signed_out(latchkey, "krb", result["done"].returncode, result["done"].stderr)
    # The ticket libkrb5 wrote is the person's cache, not Latchkey's store; without it, only a
    # remembered password could get a header, and the logout forgot that password.
    os.remove(realm.cache.removeprefix("FILE:"))
    header = latchkey.run("header", "krb")
    assert header.returncode == 77, header.stdout + header.stderr
    assert "acquired again with the remembered password" not in latchkey.log_text()
