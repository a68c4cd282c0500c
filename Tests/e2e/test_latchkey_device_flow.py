"""Issue 2 end to end: the real `latchkey` and `latchkeyd` against the real Authlib provider.

A person signs in with the device flow (password + TOTP on the provider's page); sync tools
then get tokens and headers from the socket; refresh rotation is followed; errors give the
exit codes of SPEC.md §3; and no secret reaches any log or output.
"""

import json
import os
import signal
import subprocess
import time

import pytest

from support.latchkey import unix_http

ALICE_PASSWORD = "correct horse battery staple"
ALICE_TOTP_SECRET = "JBSWY3DPEHPK3PXP"


def assert_no_secrets(latchkey, provider, extra=()):
    """No token, refresh token, device code or password in any log or output.

    Tokens handed out on purpose (stdout of `token`/`header`, API answers) are the requested
    data; they are removed from the transcript before the search. Logs are searched whole."""
    issued = provider.issued()
    secrets = (issued["access_tokens"] + issued["refresh_tokens"] + issued["device_codes"]
               + [ALICE_PASSWORD, ALICE_TOTP_SECRET] + list(extra))
    secrets = [s for s in secrets if s]
    log = latchkey.log_text()
    for secret in secrets:
        assert secret not in log, "a secret reached the daemon's log"
    for argv, _, out, err in latchkey.transcript:
        for secret in secrets:
            assert secret not in err, f"a secret reached the standard error of {argv[:2]}"
            assert secret not in " ".join(argv), "a secret reached argv"
    refresh_and_codes = issued["refresh_tokens"] + issued["device_codes"] + [ALICE_PASSWORD]
    for argv, _, out, err in latchkey.transcript:
        for secret in refresh_and_codes:
            assert secret not in out, f"a refresh token, device code or password reached the output of {argv[:2]}"


def start_with_account(latchkey, provider, extra="", broker=""):
    latchkey.write_config(f'[broker]\nstore = "memory"\n{broker}\n'
                          + latchkey.oauth_account("work", provider.url, provider.ca, extra=extra))
    latchkey.start()


def test_device_sign_in_with_mfa_then_token_and_header(latchkey, provider, person):
    provider.configure(interval=1)
    start_with_account(latchkey, provider)

    rc, out, err, code = latchkey.login("work", person)
    assert rc == 0, err
    assert code and "open this page" in err and provider.url + "/device" in err
    assert "Signed in to 'work'" in err
    assert out == ""  # prompts go to stderr; stdout carries only requested data

    token = latchkey.run("token", "work")
    assert token.returncode == 0, token.stderr
    access = token.stdout.strip()
    assert provider.resource(access).status_code == 200

    header = latchkey.run("header", "work")
    assert header.stdout.strip() == f"Authorization: Bearer {access}"
    # A real client, unchanged: curl -H "$(latchkey header work)" reaches the protected resource.
    code = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--cacert", provider.ca,
                           "-H", header.stdout.strip(), provider.url + "/resource"],
                          capture_output=True, text=True, timeout=30).stdout
    assert code == "200"

    # The socket API, as any tool uses it: curl --unix-socket.
    curl = subprocess.run(["curl", "-s", "--unix-socket", latchkey.socket, "http://localhost/v1/accounts/work/header"],
                          capture_output=True, text=True, check=True)
    answer = json.loads(curl.stdout)
    assert answer["value"] == f"Bearer {access}" and answer["header"] == f"Authorization: Bearer {access}"
    assert answer["expires_at"] > time.time()

    status = latchkey.run("status", "--json")
    accounts = json.loads(status.stdout)["accounts"]
    assert accounts[0]["name"] == "work" and accounts[0]["state"] == "valid"

    counters = provider.counters()
    assert counters["device_authorization"] == 1 and counters["device_approved"] == 1
    assert_no_secrets(latchkey, provider)


def test_expired_token_is_refreshed_once_with_rotation(latchkey, provider, person):
    provider.configure(interval=1, access_token_lifetime=20)
    # A quiet account (no client within active_window): no proactive refresh ahead of the
    # expiry, so the request after it is the one that refreshes (README, Token life).
    start_with_account(latchkey, provider, extra="min_valid = 0", broker='active_window = "1s"')
    assert latchkey.login("work", person)[0] == 0
    first = latchkey.run("token", "work").stdout.strip()
    first_refresh = provider.issued()["refresh_tokens"][0]
    assert provider.counters()["token_refresh"] == 0

    # Wait until the first token has really expired (a condition, not a timed assertion).
    expires_at = json.loads(latchkey.run("token", "work", "--json").stdout)["expires_at"]
    time.sleep(max(0, expires_at - time.time()) + 1.5)
    assert provider.resource(first).status_code == 401

    second = latchkey.run("token", "work")
    assert second.returncode == 0, second.stderr
    second = second.stdout.strip()
    assert second != first
    assert provider.resource(second).status_code == 200
    counters = provider.counters()
    assert counters["token_refresh"] == 1 and counters["token_refresh_ok"] == 1
    # Rotation really happened and was followed: the first refresh token is dead now.
    assert provider.refresh(first_refresh).status_code == 400
    assert provider.refresh(first_refresh).json()["error"] == "invalid_grant"
    assert_no_secrets(latchkey, provider)


def test_min_valid_longer_than_lifetime_refreshes_once_per_request(latchkey, provider, person):
    provider.configure(interval=1, access_token_lifetime=20)
    start_with_account(latchkey, provider)
    assert latchkey.login("work", person)[0] == 0
    before = provider.counters()["token_refresh"]
    # Tokens live 20 s, the client wants 120 s: a fresh token is handed out as it is,
    # after exactly one refresh per request, never a loop.
    answer = latchkey.run("token", "work", "--min-valid", "120")
    assert answer.returncode == 0, answer.stderr
    assert provider.counters()["token_refresh"] == before + 1


def test_access_denied_at_the_provider(latchkey, provider, person):
    provider.configure(interval=1)
    start_with_account(latchkey, provider)
    rc, _, err, _ = latchkey.login("work", person, approve="deny")
    assert rc == 77
    assert "declined at the provider" in err and "latchkey login work" in err
    assert latchkey.run("token", "work").returncode == 77
    assert_no_secrets(latchkey, provider)


def test_expired_device_code(latchkey, provider, person):
    provider.configure(interval=1, device_code_lifetime=3)
    start_with_account(latchkey, provider)
    rc, _, err, _ = latchkey.login("work", person, approve=False)
    assert rc == 77
    assert "expired before the sign-in was completed" in err


def test_slow_down_adds_five_seconds(latchkey, provider, person):
    provider.configure(interval=1)
    provider.fault("token", "status", status=400, error="slow_down", count=1)
    start_with_account(latchkey, provider)
    rc, _, err, _ = latchkey.login("work", person)
    assert rc == 0, err
    assert "asked to slow down" in latchkey.log_text() and "interval_s=6" in latchkey.log_text()


def test_provider_down_exits_75(latchkey, provider):
    import socket as sock
    s = sock.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    latchkey.write_config('[broker]\nstore = "memory"\n'
                          + latchkey.oauth_account("work", f"https://127.0.0.1:{port}", provider.ca))
    latchkey.start()
    rc, _, err, _ = latchkey.login("work", None, approve=False)
    assert rc == 75
    assert "cannot be reached" in err and f"127.0.0.1" in err


def test_unknown_account_and_usage_errors(latchkey, provider):
    start_with_account(latchkey, provider)
    unknown = latchkey.run("token", "nobody")
    assert unknown.returncode == 78
    assert "no account named 'nobody'" in unknown.stderr
    assert latchkey.run("token", "bad/name").returncode == 64
    status, _, body = unix_http(latchkey.socket, "GET", "/v1/accounts/nobody/token")
    assert status == 404 and json.loads(body)["error"] == "unknown_account"
    not_signed_in = latchkey.run("token", "work")
    assert not_signed_in.returncode == 77 and "latchkey login work" in not_signed_in.stderr


def test_microsoft_shaped_answers(latchkey, provider, person):
    """String expires_in and interval, verification_url, AADSTS errors: all understood."""
    provider.configure(interval=1, microsoft=True, access_token_lifetime=20)
    start_with_account(latchkey, provider, extra="min_valid = 0")
    rc, _, err, _ = latchkey.login("work", person)
    assert rc == 0, err
    assert provider.url + "/device" in err
    token = latchkey.run("token", "work", "--json")
    assert json.loads(token.stdout)["expires_in"] <= 20
    # An AADSTS error on refresh: explained in plain words, sign-in required.
    provider.fault("token", "status", status=400, error="invalid_grant", error_codes=[700082])
    rc = latchkey.run("token", "work", "--min-valid", "60")
    assert rc.returncode == 77
    assert "90 days of inactivity" in rc.stderr and "AADSTS700082" in rc.stderr
    assert_no_secrets(latchkey, provider)


def test_daemon_refuses_a_second_instance_and_bad_config(latchkey, provider):
    start_with_account(latchkey, provider)
    second = subprocess.run([str(latchkey.bin / "latchkeyd"), "serve"], capture_output=True, text=True,
                            env=latchkey.env, timeout=30)
    assert second.returncode == 78 and "already running" in second.stderr
    latchkey.stop()
    latchkey.write_config('[accounts.work]\nmethod = "oauth"\nclient_id = 42\n')
    broken = subprocess.run([str(latchkey.bin / "latchkeyd"), "serve"], capture_output=True, text=True,
                            env=latchkey.env, timeout=30)
    assert broken.returncode == 78
    assert f"{latchkey.config}:3:13: accounts.work.client_id: expected a string, found an integer" in broken.stderr


def test_thin_client_loads_no_heavy_library(bin_dir, tmp_path):
    """`latchkey` must start fast: no libcurl, libkrb5/GSSAPI, libsecret, Foundation or ICU,
    neither linked (ldd) nor loaded while it runs (/proc/PID/maps)."""
    forbidden = ("libcurl", "libkrb5", "libgssapi", "libsecret", "libFoundation.so",
                 "libFoundationInternationalization", "icu")
    libraries = subprocess.run(["ldd", f"{bin_dir}/latchkey"], capture_output=True, text=True, check=True).stdout
    for name in forbidden:
        assert name not in libraries, name
    daemon = subprocess.run(["ldd", f"{bin_dir}/latchkeyd"], capture_output=True, text=True, check=True).stdout
    # The heavy work lives in the daemon (libcurl too, loaded at its first transfer: test_lazy_libcurl.py).
    assert "libssl" in daemon and "libgssapi" in daemon

    # A socket that accepts and never answers holds `latchkey token` mid-request: read its maps.
    import socket as sock
    path = str(tmp_path / "silent.sock")
    server = sock.socket(sock.AF_UNIX, sock.SOCK_STREAM)
    server.bind(path)
    server.listen(8)
    process = subprocess.Popen([f"{bin_dir}/latchkey", "token", "work", "--socket", path, "--no-autostart"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        server.settimeout(10)
        connection, _ = server.accept()   # the health probe
        time.sleep(0.2)
        maps = open(f"/proc/{process.pid}/maps").read()
        assert "libswiftCore" in maps  # the maps are really the running client's
        for name in forbidden:
            assert name not in maps, name
    finally:
        process.kill()
        process.wait()
        server.close()


def test_unreachable_daemon_without_autostart_exits_69(bin_dir, tmp_path):
    done = subprocess.run([f"{bin_dir}/latchkey", "token", "work", "--socket", str(tmp_path / "none.sock"),
                           "--no-autostart"], capture_output=True, text=True, timeout=10)
    assert done.returncode == 69
    assert "No Latchkey daemon answers" in done.stderr


def test_ctrl_c_cancels_the_sign_in_at_the_daemon(latchkey, provider, person):
    provider.configure(interval=1)
    start_with_account(latchkey, provider)
    process = subprocess.Popen([str(latchkey.bin / "latchkey"), "login", "work"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=latchkey.env)
    while "enter the code" not in process.stderr.readline():
        pass
    assert json.loads(latchkey.api("GET", "/v1/accounts/work")[2])["state"] == "signing_in"
    process.send_signal(signal.SIGINT)
    process.wait(timeout=10)
    deadline = time.time() + 10
    while time.time() < deadline and "sign-in cancelled" not in latchkey.log_text():
        time.sleep(0.1)
    assert "sign-in cancelled" in latchkey.log_text()
    assert json.loads(latchkey.api("GET", "/v1/accounts/work")[2])["state"] == "signed_out"
    polls = provider.counters()["token_device_code"]
    time.sleep(2.5)
    assert provider.counters()["token_device_code"] == polls  # the daemon stopped polling


def test_autostart_when_no_daemon_runs(latchkey, provider):
    latchkey.write_config('[broker]\nstore = "memory"\n'
                          + latchkey.oauth_account("work", provider.url, provider.ca))
    status = latchkey.run("status", "--json")
    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout)["accounts"][0]["name"] == "work"
    pid = None
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                cmdline = open(f"/proc/{entry}/cmdline", "rb").read().split(b"\0")
            except OSError:
                continue
            if cmdline and cmdline[0].endswith(b"latchkeyd") and latchkey.socket.encode() in cmdline:
                pid = int(entry)
    assert pid, "the autostarted daemon is not running"
    os.kill(pid, signal.SIGTERM)
