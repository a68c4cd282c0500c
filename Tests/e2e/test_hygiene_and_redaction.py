"""Issue 9: process hygiene and the redaction proof.

No secret in the daemon's or a client's argv or environment; no core dumps; private modes.
Then every kind of sign-in and hand-out in one daemon logging at `trace`, plus
`diagnose --trace`, and a search of every log and output for every secret used: zero hits."""

import os
import re
import stat
import subprocess
import time

import requests

from conftest import require_env
from test_browser_flow import finish, start_login
from test_kerberos import ALICE, realm  # noqa: F401 (fixture)

BASIC_PASSWORD = "alice-Basic-pass-1"


def proc(pid, name):
    with open(f"/proc/{pid}/{name}", "rb") as f:
        return f.read()


def test_no_secret_in_argv_or_environment_and_no_core_dumps(latchkey, provider, person, tmp_path):
    https_port, = require_env("LATCHKEY_TEST_APACHE_HTTPS_PORT")
    url = f"https://localhost:{https_port}/basic/"
    latchkey.write_config('[broker]\nstore = "memory"\n\n' + latchkey.oauth_account("work", provider.url, provider.ca)
                          + f'\n[accounts.legacy]\nmethod = "basic"\nusername = "alice"\nurl = "{url}"\n'
                          f'ca_file = "{provider.ca}"\n')
    latchkey.start()
    assert latchkey.login("work", person)[0] == 0
    # A client that waits for a password: its argv and environment, before and after typing.
    client = subprocess.Popen([str(latchkey.bin / "latchkey"), "login", "legacy"], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=latchkey.env)
    time.sleep(0.5)
    seen = [proc(client.pid, "cmdline"), proc(client.pid, "environ")]
    out, err = client.communicate(BASIC_PASSWORD.encode() + b"\n", timeout=30)
    assert client.returncode == 0, err
    token = latchkey.run("token", "work").stdout.strip()
    daemon = latchkey.process.pid
    seen += [proc(daemon, "cmdline"), proc(daemon, "environ")]
    issued = provider.issued()
    secrets = [BASIC_PASSWORD, token] + issued["access_tokens"] + issued["refresh_tokens"] + issued["device_codes"]
    for blob in seen:
        for secret in secrets:
            assert secret.encode() not in blob, "a secret is in a process's argv or environment"
    limits = proc(daemon, "limits").decode()
    assert re.search(r"Max core file size\s+0\s+0", limits), limits
    # Private modes: the runtime folder 0700, the socket 0600.
    folder = os.path.dirname(latchkey.socket)
    assert stat.S_IMODE(os.stat(folder).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(latchkey.socket).st_mode) == 0o600


def test_every_flow_at_trace_level_leaks_nothing(latchkey, provider, person, realm, tmp_path):  # noqa: F811
    https_port, = require_env("LATCHKEY_TEST_APACHE_HTTPS_PORT")
    provider.configure(interval=1, access_token_lifetime=30)
    latchkey.extra_env = realm.env()
    latchkey.write_config(
        '[broker]\nstore = "memory"\n\n'
        + latchkey.oauth_account("work", provider.url, provider.ca,
                                 extra=f'url = "{provider.url}/Microsoft-Server-ActiveSync"')
        + f'\n[accounts.krb]\nmethod = "kerberos"\nprincipal = "alice@{realm.name}"\nurl = "{realm.url}"\n'
        + f'\n[accounts.legacy]\nmethod = "basic"\nusername = "alice"\nurl = "https://localhost:{https_port}/basic/"\n'
        f'ca_file = "{provider.ca}"\n')
    latchkey.start()
    # Device flow, then a forced refresh, a claims challenge and a refresh carrying it.
    assert latchkey.login("work", person)[0] == 0
    assert latchkey.run("token", "work", "--min-valid", "86400").returncode == 0
    challenge = 'Bearer error="insufficient_claims", claims="eyJhY2Nlc3NfdG9rZW4iOnt9fQ=="'
    assert latchkey.run("challenge", "work", "--www-authenticate", challenge).returncode == 0
    assert latchkey.run("token", "work").returncode == 0
    # Browser flow (PKCE): the code and the verifier's hash travel; neither may be logged.
    process, url, shown = start_login(latchkey, "--method", "browser", "--no-browser")
    location = person.browser_login(url)
    code = re.search(r"[?&]code=([^&]+)", location).group(1)
    assert requests.get(location, timeout=10).status_code == 200
    assert finish(latchkey, process, shown)[0] == 0
    # Kerberos: a password sign-in relayed through the stream, then SPNEGO headers.
    login = latchkey.run("login", "krb", input=ALICE[1] + "\n")
    assert login.returncode == 0, login.stderr
    negotiate = [latchkey.run("header", "krb").stdout.strip() for _ in range(3)]
    assert all(h.startswith("Authorization: Negotiate ") for h in negotiate)
    # Basic.
    assert latchkey.run("login", "legacy", input=BASIC_PASSWORD + "\n").returncode == 0
    basic = latchkey.run("header", "legacy").stdout.strip()
    # Diagnose, with --trace, through the running daemon.
    diagnosis = latchkey.run("diagnose", "work", "--trace")
    assert diagnosis.returncode == 0, diagnosis.stdout + diagnosis.stderr

    issued = provider.issued()
    spnego = [h.split(" ", 2)[2] for h in negotiate]
    secrets = (issued["access_tokens"] + issued["refresh_tokens"] + issued["device_codes"]
               + [code, BASIC_PASSWORD, ALICE[1], basic.split(" ", 2)[2]] + spnego)
    secrets = [s for s in secrets if s]
    assert len(issued["refresh_tokens"]) >= 3
    log = latchkey.log_text()
    assert "trace" in log or "debug" in log
    for secret in secrets:
        assert secret not in log, "a secret reached the daemon's trace-level log"
        assert secret not in diagnosis.stdout and secret not in diagnosis.stderr, "a secret reached diagnose --trace"
    # Outputs: only the commands that hand a credential out print it, on standard output.
    for argv, _, out, err in latchkey.transcript:
        for secret in secrets:
            assert secret not in err, f"a secret reached the standard error of {argv[:3]}"
            assert secret not in " ".join(argv), "a secret reached argv"
        if len(argv) > 1 and argv[1] not in ("token", "header"):
            for secret in secrets:
                assert secret not in out, f"a secret reached the standard output of {argv[:3]}"
