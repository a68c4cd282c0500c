"""Issue 8 end to end: `latchkey diagnose` against real servers. Each failure is set up for
real — certificates, clocks, ports, names, provider errors, the KDC, the keyring, a password —
and the report must name the check that fails and the cause; a healthy account passes every
check; no secret appears in any output, `--trace` included."""

import json
import os
import re
import subprocess
import time

import pytest

from conftest import require_env
from support.provider import PUBLIC_CLIENT
from test_credential_store import keyring  # noqa: F401 (fixture)
from test_kerberos import ALICE, realm  # noqa: F401 (fixture)
from test_latchkey_device_flow import assert_no_secrets

BASIC_PASSWORD = "alice-Basic-pass-1"


def diagnose(latchkey, target, *args):
    done = latchkey.run("diagnose", target, "--json", *args)
    report = json.loads(done.stdout) if done.stdout.strip().startswith("{") else None
    assert report is not None, f"no JSON report (exit {done.returncode}):\n{done.stdout}\n{done.stderr}"
    return done, report


def failed(report):
    fails = [c for c in report["checks"] if c["status"] == "fail"]
    assert len(fails) == 1, report
    assert report["checks"][-1] == fails[0], "diagnose stops at the first failure"
    return fails[0]


def basic_account(latchkey, name, url, ca, store="memory", extra=""):
    latchkey.write_config(f'[broker]\nstore = "{store}"\n\n[accounts.{name}]\nmethod = "basic"\nusername = "alice"\n'
                          f'url = "{url}"\nca_file = "{ca}"\n{extra}\n')


@pytest.fixture
def faults(provider_env):
    names = ["EXPIRED_URL", "UNTRUSTED_URL", "WRONGHOST_URL", "SKEWED_URL", "GOOD_URL"]
    values = require_env(*[f"LATCHKEY_TEST_TLS_{n}" for n in names], "LATCHKEY_TEST_CLOSED_PORT", "LATCHKEY_TEST_CA")
    found = dict(zip([n.lower().removesuffix("_url") for n in names] + ["closed", "ca"], values))
    return found


# --------------------------------------------------------------------------- the network


@pytest.mark.parametrize("fault, check, words, code", [
    ("untrusted", "tls", "not issued by a CA this machine trusts", 75),
    ("expired", "tls", "certificate has expired", 75),
    ("wronghost", "tls", "host name mismatch", 75),
    ("skewed", "clock", r"(7199|7200|7201) s ahead", 78),  # the Date header has one-second steps
])
def test_tls_and_clock_faults_are_named(latchkey, faults, fault, check, words, code):
    basic_account(latchkey, "svc", faults[fault], faults["ca"])
    done, report = diagnose(latchkey, "svc")
    assert done.returncode == code, done.stdout
    finding = failed(report)
    assert finding["check"].startswith(check) and re.search(words, finding["finding"]), finding
    assert finding["remedy"]
    if check == "tls":
        assert "subject CN=" in finding["finding"] and "issuer CN=" in finding["finding"]


def test_a_closed_port_and_a_name_that_does_not_resolve(latchkey, faults):
    basic_account(latchkey, "svc", f"https://127.0.0.1:{faults['closed']}/", faults["ca"])
    done, report = diagnose(latchkey, "svc")
    finding = failed(report)
    assert done.returncode == 75 and finding["check"].startswith("tcp") and "Connection refused" in finding["finding"]

    basic_account(latchkey, "svc", "https://latchkey-test-host.invalid/", faults["ca"])
    done, report = diagnose(latchkey, "svc")
    finding = failed(report)
    assert done.returncode == 75 and finding["check"] == "dns latchkey-test-host.invalid"
    assert "does not resolve" in finding["finding"]


def test_the_readable_report_and_a_broken_config(latchkey, faults):
    basic_account(latchkey, "svc", faults["expired"], faults["ca"])
    done = latchkey.run("diagnose", "svc")
    assert done.returncode == 75
    assert "✘ tls 127.0.0.1:" in done.stdout and "→ The service's administrator must renew" in done.stdout
    assert "Stopped at the first failure" in done.stdout and "\x1b[" not in done.stdout
    latchkey.write_config("[accounts.svc\n")
    done, report = diagnose(latchkey, "svc")
    assert done.returncode == 78 and failed(report)["check"] == "configuration"
    assert "config.toml:1" in failed(report)["finding"]


# --------------------------------------------------------------------------- the provider


def signed_in(latchkey, provider, person):
    latchkey.write_config('[broker]\nstore = "memory"\n\n'
                          + latchkey.oauth_account("work", provider.url, provider.ca,
                                                   extra=f'url = "{provider.url}/Microsoft-Server-ActiveSync"'))
    latchkey.start()
    code, _, err, _ = latchkey.login("work", person)
    assert code == 0, err


def test_a_healthy_account_passes_every_check_and_trace_shows_no_secret(latchkey, provider, person):
    signed_in(latchkey, provider, person)
    done, report = diagnose(latchkey, "work", "--trace")
    assert done.returncode == 0, done.stdout + done.stderr
    statuses = {c["check"]: c["status"] for c in report["checks"]}
    assert report["result"] == "pass" and "fail" not in statuses.values()
    for check in ("configuration", "challenges", "provider metadata", "refresh", "token claims", "request"):
        assert statuses.get(check) in ("pass", "warn"), (check, report)
    assert any(k.startswith("tls ") for k in statuses) and any(k.startswith("clock ") for k in statuses)
    claims = next(c for c in report["checks"] if c["check"] == "token claims")["finding"]
    assert "upn alice@" in claims and "MFA was used" in claims and "tid " in claims
    request = next(c for c in report["checks"] if c["check"] == "request")["finding"]
    assert "accepted the Bearer header (200)" in request
    # The trace shows the exchanges, never their secrets.
    assert "> GET " in done.stderr and "[redacted]" in done.stderr
    assert_no_secrets(latchkey, provider)
    issued = provider.issued()
    for token in issued["access_tokens"] + issued["refresh_tokens"]:
        assert token not in done.stdout and token not in done.stderr


@pytest.mark.parametrize("error, codes, words, remedy", [
    ("invalid_client", [700016], "not registered in this tenant (AADSTS700016)", "Check client_id and tenant"),
    ("invalid_grant", [65001], "no consent for this user or tenant (AADSTS65001)", "grant consent"),
    ("interaction_required", [50076], "multi-factor authentication is required by the tenant (AADSTS50076)", "complete the MFA prompt"),
    ("invalid_grant", [53003], "Conditional Access policy blocks this sign-in (AADSTS53003)", "--method browser"),
])
def test_provider_errors_are_explained_with_the_fix(latchkey, provider, person, error, codes, words, remedy):
    signed_in(latchkey, provider, person)
    provider.configure(microsoft=True)
    provider.fault("token", "status", status=400, error=error, error_codes=codes)
    done, report = diagnose(latchkey, "work")
    finding = failed(report)
    assert done.returncode == 77, report
    assert finding["check"] == "refresh" and words in finding["finding"], finding
    assert remedy in finding["remedy"]


def test_invalid_grant_after_an_administrator_revoked_the_session(latchkey, provider, person):
    signed_in(latchkey, provider, person)
    provider.revoke_all_for_user("alice")
    done, report = diagnose(latchkey, "work")
    finding = failed(report)
    assert done.returncode == 77 and finding["check"] == "refresh"
    assert "invalid_grant" in finding["finding"] or "no longer accepts this sign-in" in finding["finding"]
    assert "latchkey login work" in finding["remedy"]


def test_an_address_not_set_up_yet_is_diagnosed_through_autodiscover(latchkey, provider):
    done, report = diagnose(latchkey, "alice@contoso.example", "--autodiscover", provider.url, "--ca-file", provider.ca)
    assert done.returncode == 0, report
    checks = {c["check"]: c for c in report["checks"]}
    assert checks["account"]["status"] == "warn" and "latchkey setup alice@contoso.example" in checks["account"]["remedy"]
    assert "/Microsoft-Server-ActiveSync" in checks["autodiscover"]["finding"]
    assert "Bearer" in checks["challenges"]["finding"]


# --------------------------------------------------------------------------- Kerberos


def kerberos_account(latchkey, realm, extra=""):  # noqa: F811
    latchkey.extra_env = realm.env()
    latchkey.write_config(f'[broker]\nstore = "memory"\n\n[accounts.krb]\nmethod = "kerberos"\n'
                          f'principal = "alice@{realm.name}"\nurl = "{realm.url}"\n{extra}\n')


def test_kerberos_healthy_then_kdc_stopped(latchkey, realm):  # noqa: F811
    kerberos_account(latchkey, realm)
    realm.kinit(*ALICE)
    done, report = diagnose(latchkey, "krb")
    assert done.returncode == 0, report
    assert any(c["check"] == "request" and "Negotiate header (200)" in c["finding"] for c in report["checks"])
    # A fresh cache without a service ticket, and the KDC down.
    subprocess.run(["kdestroy", "-c", realm.cache], env={**os.environ, **realm.env()}, capture_output=True)
    realm.kinit(*ALICE)
    realm.do("kdc-stop")
    done, report = diagnose(latchkey, "krb")
    finding = failed(report)
    assert done.returncode == 75 and finding["check"] == "service ticket" and "KDC cannot be reached" in finding["finding"]


def test_no_ticket_expired_ticket_and_wrong_spn(latchkey, realm):  # noqa: F811
    kerberos_account(latchkey, realm)
    done, report = diagnose(latchkey, "krb")
    finding = failed(report)
    assert done.returncode == 77 and finding["check"] == "kerberos ticket" and "no Kerberos ticket" in finding["finding"]

    subprocess.run(["kinit", "-l", "2s", "-c", realm.cache, f"alice@{realm.name}"], input=ALICE[1] + "\n", text=True,
                   check=True, capture_output=True, env={**os.environ, **realm.env()}, timeout=30)
    time.sleep(3)
    done, report = diagnose(latchkey, "krb")
    finding = failed(report)
    assert done.returncode == 77 and finding["check"] == "kerberos ticket" and "expired" in finding["finding"]

    realm.kinit(*ALICE)
    kerberos_account(latchkey, realm, extra='service = "HTTP@wrong.example"')
    done, report = diagnose(latchkey, "krb")
    finding = failed(report)
    assert done.returncode == 78 and finding["check"] == "service ticket" and "wrong SPN" in finding["finding"]
    assert "HTTP@wrong.example" in finding["finding"]


# --------------------------------------------------------------------------- the keyring and Basic


def apache_basic(provider_env):
    https_port, ca = require_env("LATCHKEY_TEST_APACHE_HTTPS_PORT", "LATCHKEY_TEST_CA")
    return f"https://localhost:{https_port}/basic/", ca


def test_keyring_locked_and_absent(latchkey, provider_env, keyring):  # noqa: F811
    url, ca = apache_basic(provider_env)
    latchkey.extra_env = {"DBUS_SESSION_BUS_ADDRESS": keyring.address}
    basic_account(latchkey, "legacy", url, ca, store="secret-service")
    keyring.do("lock")
    done, report = diagnose(latchkey, "legacy")
    finding = failed(report)
    assert done.returncode == 77 and finding["check"] == "store" and "is locked" in finding["finding"]
    assert "unlock" in finding["remedy"].lower()

    latchkey.extra_env = {"DBUS_SESSION_BUS_ADDRESS": "unix:path=/nonexistent/latchkey-test-bus"}
    done, report = diagnose(latchkey, "legacy")
    finding = failed(report)
    assert done.returncode == 78 and finding["check"] == "store" and "Secret Service cannot be used" in finding["finding"]


def test_a_wrong_basic_password_is_named(latchkey, provider_env, keyring):  # noqa: F811
    url, ca = apache_basic(provider_env)
    latchkey.extra_env = {"DBUS_SESSION_BUS_ADDRESS": keyring.address}
    basic_account(latchkey, "legacy", url, ca, store="secret-service")
    env = {**os.environ, "DBUS_SESSION_BUS_ADDRESS": keyring.address}
    attributes = ["xdg:schema", "org.latchkey.Credential", "account", "legacy", "kind", "password"]
    try:
        subprocess.run(["secret-tool", "store", "--label=test", *attributes], input="not-the-password", text=True,
                       check=True, env=env, timeout=30)
        done, report = diagnose(latchkey, "legacy")
        finding = failed(report)
        assert done.returncode == 77 and finding["check"] == "request"
        assert "refused the user name and password" in finding["finding"]
        assert "not-the-password" not in done.stdout + done.stderr

        subprocess.run(["secret-tool", "store", "--label=test", *attributes], input=BASIC_PASSWORD, text=True,
                       check=True, env=env, timeout=30)
        done, report = diagnose(latchkey, "legacy", "--trace")
        assert done.returncode == 0, report
        assert BASIC_PASSWORD not in done.stdout + done.stderr
        assert "Authorization: Basic [redacted]" in done.stderr
    finally:
        subprocess.run(["secret-tool", "clear", *attributes], env=env, timeout=30)


def test_diagnose_refuses_a_plain_http_endpoint_as_the_daemon_does(latchkey, provider):
    # Issue 16: diagnose derived the endpoints with its own copy of the broker's code, which
    # had dropped the https-only check, so it passed what the daemon refuses.
    latchkey.write_config('[broker]\nstore = "memory"\n\n' + latchkey.oauth_account(
        "work", provider.url, provider.ca, extra='device_authorization_endpoint = "http://idp.example.org/device"'))
    latchkey.start()
    login = latchkey.run("login", "work")
    assert login.returncode != 0 and "is not https" in login.stderr, login.stderr
    done, report = diagnose(latchkey, "work")
    finding = failed(report)
    assert finding["check"] == "provider metadata" and "is not https" in finding["finding"], report
    assert done.returncode != 0
