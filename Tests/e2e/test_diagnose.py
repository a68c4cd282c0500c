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


# --------------------------------------------------------------------------- issue 19: what was tried


def test_a_missing_discovery_document_names_the_url_the_status_and_the_fix(latchkey, provider):
    latchkey.write_config('[broker]\nstore = "memory"\n\n'
                          + latchkey.oauth_account("work", provider.url + "/no/such-tenant", provider.ca))
    done, report = diagnose(latchkey, "work")
    finding = failed(report)
    assert done.returncode == 78, report
    assert finding["check"] == "provider metadata", report
    url = provider.url + "/no/such-tenant/.well-known/openid-configuration"
    assert f"no OIDC discovery document at {url} (HTTP 404)" in finding["finding"], finding
    assert "issuer" in finding["remedy"] and "[accounts.work]" in finding["remedy"], finding
    assert "refused" not in finding["finding"]


# --------------------------------------------------------------------------- issue 19: what the daemon saw


def test_device_code_blocked_by_policy_is_remembered_across_a_restart(latchkey, provider, person):
    latchkey.write_config('[broker]\nstore = "memory"\n\n' + latchkey.oauth_account("work", provider.url, provider.ca))
    provider.configure(microsoft=True, block_device_code=True, interval=1)
    latchkey.start()
    code, _, err, _ = latchkey.login("work", person)
    assert code != 0 and "AADSTS53003" in err, err
    latchkey.restart()
    status, _, body = latchkey.api("GET", "/v1/accounts/work/errors")
    kept = json.loads(body)
    assert status == 200 and kept["sign_in"]["error_codes"] == [53003] and kept["sign_in"]["method"] == "device", kept
    assert kept["sign_in"]["error"] == "invalid_grant" and kept["refresh"] is None

    # From the running daemon (the state file out of the way), then from the state folder
    # when no daemon runs.
    state = latchkey.root / ".local" / "state" / "latchkey" / "errors.json"
    saved = state.read_bytes()
    state.unlink()
    for running in (True, False):
        done, report = diagnose(latchkey, "work")
        finding = failed(report)
        assert done.returncode == 77, report
        assert finding["check"] == "last sign-in", report
        assert "device flow" in finding["finding"] and "Conditional Access policy blocks this sign-in (AADSTS53003)" in finding["finding"]
        assert "--method browser" in finding["remedy"], finding
        latchkey.stop()
        state.write_bytes(saved)
        state.chmod(0o600)
    latchkey.start()
    kept = json.loads(state.read_text())
    assert kept["schema"] == 1 and kept["accounts"]["work"]["sign_in"]["error_codes"] == [53003]
    assert oct(state.stat().st_mode & 0o777) == "0o600"
    assert_no_secrets(latchkey, provider)
    issued = provider.issued()
    assert issued["device_codes"]
    for secret in issued["device_codes"] + issued["user_codes"]:
        assert secret not in state.read_text()

    # A later success clears it: it is not reported as current.
    provider.configure(block_device_code=False)
    code, _, err, _ = latchkey.login("work", person)
    assert code == 0, err
    done, report = diagnose(latchkey, "work")
    assert done.returncode == 0, report
    assert "last sign-in" not in [c["check"] for c in report["checks"]]


# --------------------------------------------------------------------------- issue 19: preflight without the person


def test_an_unregistered_client_id_is_named_before_anyone_signs_in(latchkey, provider):
    provider.configure(microsoft=True)
    account = latchkey.oauth_account("work", provider.url, provider.ca).replace('"latchkey-test"', '"not-registered-app"')
    latchkey.write_config('[broker]\nstore = "memory"\n\n' + account)
    done, report = diagnose(latchkey, "work")
    finding = failed(report)
    assert done.returncode == 78, report
    assert finding["check"] == "preflight", report
    assert f"POST {provider.url}/device_authorization (HTTP 4" in finding["finding"], finding
    assert "'not-registered-app'" in finding["finding"]
    assert "not registered in this tenant (AADSTS700016)" in finding["finding"], finding
    assert "Ask your administrator to register the app 'not-registered-app'" in finding["remedy"]
    assert "use a client id registered for this tenant" in finding["remedy"]
    assert provider.counters()["token_device_code"] == 0  # nothing consumed, nobody asked to sign in


def test_a_redirect_uri_mismatch_is_named_for_the_browser_flow(latchkey, provider):
    provider.configure(microsoft=True)
    account = latchkey.oauth_account("work", provider.url, provider.ca, extra='flow = "browser"')
    latchkey.write_config('[broker]\nstore = "memory"\n\n' + account.replace('"latchkey-test"', '"latchkey-web-only"'))
    done, report = diagnose(latchkey, "work")
    finding = failed(report)
    assert done.returncode == 78, report
    assert finding["check"] == "preflight", report
    assert f"GET {provider.url}/authorize with client_id 'latchkey-web-only' and redirect_uri http://127.0.0.1:" in finding["finding"]
    assert "redirect URI is not registered for this application (AADSTS50011)" in finding["finding"], finding
    assert "The redirect URI 'http://127.0.0.1:" in finding["finding"] and "does not match the redirect URIs configured" in finding["finding"]
    assert "Ask your administrator to register http://127.0.0.1" in finding["remedy"] and 'flow = "device"' in finding["remedy"]

    # The same account with a client id registered for loopback redirects passes the preflight.
    latchkey.write_config('[broker]\nstore = "memory"\n\n' + account)
    done, report = diagnose(latchkey, "work")
    preflight = next(c for c in report["checks"] if c["check"] == "preflight")
    assert preflight["status"] == "pass" and "sign-in page" in preflight["finding"], report


# --------------------------------------------------------------------------- issue 19: does the mail server take the token?


def mail_account(latchkey, provider, person, submission="POSTFIX"):
    host, imaps, smtp = require_env("LATCHKEY_TEST_MAIL_HOST", "LATCHKEY_TEST_IMAPS_PORT",
                                    f"LATCHKEY_TEST_{submission}_SUBMISSION_PORT")
    extra = f'email = "alice@contoso.example"\nimap = "{host}:{imaps}"\nsmtp = "{host}:{smtp}"'
    latchkey.write_config('[broker]\nstore = "memory"\n\n' + latchkey.oauth_account("work", provider.url, provider.ca, extra=extra))
    latchkey.start()
    code, _, err, _ = latchkey.login("work", person)
    assert code == 0, err
    return host, imaps, smtp


@pytest.mark.parametrize("submission", ["POSTFIX", "DOVECOT"])
def test_imap_and_smtp_take_a_valid_token(latchkey, provider, person, submission):
    host, imaps, smtp = mail_account(latchkey, provider, person, submission)
    done, report = diagnose(latchkey, "work")
    assert done.returncode == 0, report
    checks = {c["check"]: c for c in report["checks"]}
    assert checks[f"imap {host}:{imaps}"]["status"] == "pass" and "accepted the token" in checks[f"imap {host}:{imaps}"]["finding"]
    assert checks[f"smtp {host}:{smtp}"]["status"] == "pass" and "235" in checks[f"smtp {host}:{smtp}"]["finding"]
    assert_no_secrets(latchkey, provider)
    for token in provider.issued()["access_tokens"]:
        assert token not in done.stdout + done.stderr


def test_a_mail_server_refusing_the_token_is_reported_with_its_answer(latchkey, provider, person):
    host, imaps, _ = mail_account(latchkey, provider, person)
    provider.fault("userinfo", "status", status=401)  # the servers' token check now fails
    done, report = diagnose(latchkey, "work")
    finding = failed(report)
    assert done.returncode == 77, report
    assert finding["check"] == f"imap {host}:{imaps}", report
    assert f"IMAPS at {host}:{imaps} refused the token (OAUTHBEARER as alice@contoso.example)" in finding["finding"], finding
    assert "a2 NO" in finding["finding"] and "AUTHENTICATIONFAILED" in finding["finding"], finding
    assert "failure document: status=" in finding["finding"], finding
    assert "aud and scp" in finding["remedy"] and "mailbox" in finding["remedy"]
    assert [c["check"] for c in report["checks"]].index("refresh") < len(report["checks"]) - 1
    for token in provider.issued()["access_tokens"]:
        assert token not in done.stdout + done.stderr


# --------------------------------------------------------------------------- issue 19: --all and the JSON schema


def test_all_accounts_one_line_each_then_the_failures_and_the_worst_exit_status(latchkey, provider, person):
    work = latchkey.oauth_account("work", provider.url, provider.ca)
    bad = latchkey.oauth_account("bad", provider.url, provider.ca).replace('"latchkey-test"', '"not-registered-app"')
    gone = latchkey.oauth_account("gone", provider.url + "/no/such-tenant", provider.ca)
    latchkey.write_config('[broker]\nstore = "memory"\n\n' + work + "\n" + bad + "\n" + gone)
    provider.configure(microsoft=True)
    latchkey.start()
    code, _, err, _ = latchkey.login("work", person)
    assert code == 0, err

    done = latchkey.run("diagnose", "--all")
    assert done.returncode == 78, done.stdout
    lines = done.stdout.splitlines()
    assert lines[0] == "✔ work: every check passed." or lines[0].startswith("✔ work: every check passed ("), done.stdout
    assert lines[1].startswith("✘ bad: preflight: POST ") and "AADSTS700016" in lines[1], done.stdout
    assert lines[2].startswith("✘ gone: provider metadata: There is no OIDC discovery document at "), done.stdout
    details = done.stdout.split("\n\n", 1)[1]
    assert "── bad " in details and "── gone " in details and "── work " not in details
    assert "→ Ask your administrator to register the app 'not-registered-app'" in details

    done = latchkey.run("diagnose", "--all", "--json")
    report = json.loads(done.stdout)
    assert done.returncode == 78 and report["schema"] == 1 and report["exit_status"] == 78 and report["result"] == "fail"
    by_name = {a["account"]: a for a in report["accounts"]}
    assert [a["account"] for a in report["accounts"]] == ["work", "bad", "gone"]
    assert by_name["work"]["result"] == "pass" and by_name["work"]["exit_status"] == 0
    assert by_name["bad"]["exit_status"] == 78 and by_name["bad"]["checks"][-1]["area"] == "configuration"
    assert all(set(c) == {"check", "status", "finding", "remedy", "area"} for a in report["accounts"] for c in a["checks"])

    # Only the sign-in missing: 77 is worse than the network's 75, better than a setting's 78.
    latchkey.write_config('[broker]\nstore = "memory"\n\n' + work + "\n"
                          + latchkey.oauth_account("other", provider.url, provider.ca))
    latchkey.restart()
    done = latchkey.run("diagnose", "--all")
    assert done.returncode == 77, done.stdout
    assert latchkey.run("diagnose").returncode == 64  # neither an account nor --all


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
