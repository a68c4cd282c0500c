"""Issue 4 end to end: the token provider sync tools rely on. Single-flight and proactive
refresh, provider faults, peer checks, systemd socket activation and readiness, SIGHUP reload
and metrics — against the real provider and the real daemon."""

import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

import pytest

from support.latchkey import poll, unix_http
from test_latchkey_device_flow import assert_no_secrets


def account(latchkey, provider, extra=""):
    return latchkey.oauth_account("work", provider.url, provider.ca, extra=extra)


async def concurrent_gets(path, target, count):
    """`count` requests at once, each on its own connection: [(status, body, seconds)]."""
    async def one():
        started = time.monotonic()
        reader, writer = await asyncio.open_unix_connection(path)
        writer.write(f"GET {target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".encode())
        await writer.drain()
        data = await reader.read()
        writer.close()
        head, _, body = data.partition(b"\r\n\r\n")
        return int(head.split()[1]), json.loads(body), time.monotonic() - started
    return await asyncio.gather(*(one() for _ in range(count)))


def test_a_thousand_concurrent_requests_on_an_expired_token_cause_one_refresh(latchkey, provider, person, tmp_path):
    provider.configure(interval=1, access_token_lifetime=20)
    key = tmp_path / "k.key"
    key.write_bytes(os.urandom(32))
    key.chmod(0o600)
    latchkey.write_config(f'[broker]\nstore = "file"\nkey_file = "{key}"\nstore_file = "{tmp_path}/s.bin"\n'
                          + account(latchkey, provider))
    latchkey.start()
    assert latchkey.login("work", person)[0] == 0
    first = latchkey.run("token", "work").stdout.strip()
    latchkey.stop(signal.SIGKILL)
    time.sleep(21)  # the stored token expires while no daemon runs
    assert provider.resource(first).status_code == 401
    before = provider.counters()["token_refresh"]
    provider.fault("token", "hang", seconds=2, count=1)  # the one refresh takes a while: all must join it
    latchkey.start()
    results = asyncio.run(concurrent_gets(latchkey.socket, "/v1/accounts/work/token?min_valid=0", 1000))
    assert all(status == 200 for status, _, _ in results), {status for status, _, _ in results}
    tokens = {body["access_token"] for _, body, _ in results}
    assert len(tokens) == 1 and first not in tokens
    assert provider.resource(tokens.pop()).status_code == 200
    assert provider.counters()["token_refresh"] - before == 1
    latencies = sorted(seconds for _, _, seconds in results)
    print(f"1000 concurrent requests on an expired token: 1 provider call; latency p50 "
          f"{latencies[499]*1000:.0f} ms, max {latencies[-1]*1000:.0f} ms")


def test_steady_requests_never_wait_on_the_provider(latchkey, provider, person):
    """20-second tokens, a minute of requests: every refresh is proactive (none is started
    by a request), and every answer honours min_valid."""
    provider.configure(interval=1, access_token_lifetime=20)
    latchkey.write_config('[broker]\nstore = "memory"\nmin_valid = "5s"\n' + account(latchkey, provider))
    latchkey.start()
    assert latchkey.login("work", person)[0] == 0
    deadline = time.time() + 60
    answers, slowest = 0, 0.0
    while time.time() < deadline:
        started = time.monotonic()
        status, _, body = unix_http(latchkey.socket, "GET", "/v1/accounts/work/token")
        slowest = max(slowest, time.monotonic() - started)
        answer = json.loads(body)
        assert status == 200
        assert answer["expires_at"] - time.time() >= 5 - 1  # min_valid, within clock rounding
        answers += 1
        time.sleep(0.1)
    refreshes = provider.counters()["token_refresh_ok"]
    log = latchkey.log_text()
    assert refreshes >= 4  # about one every 10 s
    assert log.count("trigger=proactive") >= refreshes and "trigger=request" not in log
    print(f"{answers} answers in 60 s, {refreshes} proactive refreshes, slowest answer {slowest*1000:.1f} ms")
    assert_no_secrets(latchkey, provider)


def test_tokens_shorter_than_min_valid_are_refreshed_at_most_once_per_half_their_life(latchkey, provider, person):
    """SPEC §6 (issue 17): the provider issues 20 s tokens, every client asks for 60 s. The
    freshest token is handed out as it is and refreshed at most once per 10 s, never once per
    `latchkey token` call (before: three calls in a row made three refreshes)."""
    provider.configure(interval=1, access_token_lifetime=20)
    latchkey.write_config('[broker]\nstore = "memory"\nmin_valid = "60s"\n' + account(latchkey, provider))
    latchkey.start()
    started = time.monotonic()
    assert latchkey.login("work", person)[0] == 0
    before = provider.counters()["token_refresh"]
    tokens = []
    for call in range(12):
        done = latchkey.run("token", "work", "--min-valid", "60")
        assert done.returncode == 0, done.stderr
        tokens.append(done.stdout.strip())
        assert provider.resource(tokens[-1]).status_code == 200, f"call {call} got an expired token"
        if call >= 2:
            time.sleep(1.5)  # three calls in a row, then one every 1.5 s
    elapsed = time.monotonic() - started
    refreshes = provider.counters()["token_refresh"] - before
    print(f"12 `latchkey token` calls over {elapsed:.1f} s with 20 s tokens: {refreshes} refreshes, "
          f"{len(set(tokens))} distinct tokens")
    # At most one refresh per half lifetime (10 s) since the sign-in issued the first token.
    assert refreshes <= 1 + int(elapsed // 10), (refreshes, elapsed)
    assert refreshes >= 1, "the calls span more than half a token's life after the sign-in"
    assert len(set(tokens)) <= refreshes + 1
    assert_no_secrets(latchkey, provider)


def test_provider_faults_keep_valid_tokens_served_and_recover_by_themselves(latchkey, provider, person):
    provider.configure(interval=1, access_token_lifetime=20)
    latchkey.write_config('[broker]\nstore = "memory"\nmin_valid = "5s"\nprovider_timeout = "3s"\n'
                          + account(latchkey, provider))
    latchkey.start()
    assert latchkey.login("work", person)[0] == 0
    first = latchkey.run("token", "work").stdout.strip()
    expires_at = time.time() + 20
    served = []
    stop = threading.Event()

    def clients():
        while not stop.is_set():
            status, headers, body = unix_http(latchkey.socket, "GET", "/v1/accounts/work/token?min_valid=0")
            served.append((time.time(), status, headers, json.loads(body)))
            time.sleep(0.25)

    worker = threading.Thread(target=clients)
    worker.start()
    try:
        provider.fault("token", "status", status=503, retry_after=1, count=2)
        assert poll(lambda: provider.counters()["token_refresh"] >= 2, 30, step=0.2)
        provider.fault("token", "hang", seconds=6, status=504, count=1)  # hangs and never grants
        assert poll(lambda: provider.counters()["token_refresh"] >= 3, 40, step=0.2)
        provider.fault("token", "bad_json", count=1)
        assert poll(lambda: provider.counters()["token_refresh"] >= 4, 60, step=0.2)
        assert poll(lambda: provider.counters()["token_refresh_ok"] >= 1, 90, step=0.2)  # recovered by itself
        assert poll(lambda: served and served[-1][1] == 200 and served[-1][3]["access_token"] != first, 10, step=0.2)
    finally:
        stop.set()
        worker.join()
    # Before expiry, the still-valid token kept being served through the faults.
    before_expiry = [s for s in served if s[0] < expires_at - 1]
    assert before_expiry and all(status == 200 and body["access_token"] == first for _, status, _, body in before_expiry)
    # After it expired and before recovery: 503 provider_unavailable with Retry-After (exit 75).
    unavailable = [s for s in served if s[1] == 503]
    assert unavailable, "no request landed between expiry and recovery"
    assert all(body["error"] == "provider_unavailable" and int(headers["retry-after"]) >= 1
               for _, _, headers, body in unavailable)
    assert "token refresh failed" in latchkey.log_text()
    assert_no_secrets(latchkey, provider)


def test_exit_75_while_the_provider_is_down_after_expiry(latchkey, provider, person):
    provider.configure(interval=1, access_token_lifetime=20)
    latchkey.write_config('[broker]\nstore = "memory"\n' + account(latchkey, provider, extra="min_valid = 0"))
    latchkey.start()
    assert latchkey.login("work", person)[0] == 0
    provider.fault("token", "status", status=503, retry_after=30)
    assert poll(lambda: latchkey.run("token", "work").returncode == 75, 40, step=1)
    down = latchkey.run("token", "work")
    assert "cannot be reached" in down.stderr and "retries by itself" in down.stderr
    provider.clear_fault("token")


def test_another_user_is_refused(latchkey, provider, person):
    if os.geteuid() != 0:
        pytest.skip("needs root to run a client as another user")
    folder = tempfile.mkdtemp(prefix="latchkey-peer-")
    os.chmod(folder, 0o755)
    sock = os.path.join(folder, "latchkey.sock")
    try:
        latchkey.write_config('[broker]\nstore = "memory"\n' + account(latchkey, provider))
        latchkey.socket = sock
        latchkey.start("--socket", sock)
        # Let the other user reach the socket (the daemon made both private): the peer check
        # must refuse it all the same.
        os.chmod(folder, 0o755)
        os.chmod(sock, 0o666)
        other = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "curl", "-s",
                                "--unix-socket", sock, "http://localhost/v1/accounts/work/token"],
                               capture_output=True, text=True, timeout=30)
        answer = json.loads(other.stdout)
        assert answer["error"] == "forbidden" and "serves only its own user" in answer["message"]
        assert "client refused: another user" in latchkey.log_text() and "uid=65534" in latchkey.log_text()
        assert unix_http(sock, "GET", "/v1/health")[0] == 200  # its own user is still served
    finally:
        latchkey.stop()
        shutil.rmtree(folder, ignore_errors=True)


def test_allowed_clients_are_enforced_and_audited(latchkey, provider, person):
    curl = os.path.realpath(shutil.which("curl"))
    client = os.path.realpath(latchkey.bin / "latchkey")  # signing in is restricted too (issue 15)
    provider.configure(interval=1)
    latchkey.write_config('[broker]\nstore = "memory"\n'
                          + account(latchkey, provider, extra=f'allowed_clients = ["{curl}", "{client}"]'))
    latchkey.start()
    assert latchkey.login("work", person)[0] == 0
    status, _, refused = latchkey.api("GET", "/v1/accounts/work/token")  # this test's python is not allowed
    assert status == 403
    assert b"may not use the credentials of 'work'" in refused and b"allowed_clients" in refused
    allowed = subprocess.run([curl, "-s", "--unix-socket", latchkey.socket, "http://localhost/v1/accounts/work/header"],
                             capture_output=True, text=True, timeout=30)
    header = json.loads(allowed.stdout)["header"]
    latchkey.transcript.append((["curl"], 0, "", ""))
    assert header.startswith("Authorization: Bearer ")
    log = latchkey.log_text()
    assert "client refused: not in allowed_clients" in log and "python" in log
    assert f"credential handed out" in log and f"exe={curl}" in log
    assert_no_secrets(latchkey, provider)


def test_socket_activation_and_readiness(latchkey, provider, tmp_path):
    latchkey.write_config('[broker]\nstore = "memory"\n' + account(latchkey, provider))
    notify_path = str(tmp_path / "notify.sock")
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(notify_path)
    notify.settimeout(15)
    activated = str(tmp_path / "activated.sock")
    # systemd-socket-activate passes the launched daemon only LISTEN_* and the -E variables.
    process = subprocess.Popen(["systemd-socket-activate", "-l", activated, "-E", f"NOTIFY_SOCKET={notify_path}",
                                str(latchkey.bin / "latchkeyd"), "serve", "--config", str(latchkey.config)],
                               env=latchkey.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert poll(lambda: os.path.exists(activated), 10, step=0.2)
        # The daemon starts on the first connection and answers it.
        status, _, body = unix_http(activated, "GET", "/v1/accounts", timeout=20)
        assert status == 200 and json.loads(body)["accounts"][0]["name"] == "work"
        message = notify.recv(4096).decode()
        assert "READY=1" in message
        # It holds the daemon lock beside the socket systemd handed it (not beside a default path
        # of an environment systemd did not pass), so a daemon a client starts meanwhile waits.
        assert os.path.exists(activated + ".lock")
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=15)
        notify.close()


def test_sighup_reloads_and_keeps_the_last_good_configuration(latchkey, provider):
    latchkey.write_config('[broker]\nstore = "memory"\n' + account(latchkey, provider))
    latchkey.start()
    second = latchkey.oauth_account("second", provider.url, provider.ca)
    latchkey.write_config('[broker]\nstore = "memory"\n' + account(latchkey, provider) + second)
    latchkey.process.send_signal(signal.SIGHUP)
    assert poll(lambda: len(json.loads(unix_http(latchkey.socket, "GET", "/v1/accounts")[2])["accounts"]) == 2, 10)
    latchkey.write_config('[broker]\nstore = "memory"\nmin_valid = "soon"\n')
    latchkey.process.send_signal(signal.SIGHUP)
    assert poll(lambda: "configuration not reloaded" in latchkey.log_text(), 10)
    assert f"{latchkey.config}:3:13: broker.min_valid" in latchkey.log_text()
    assert len(json.loads(unix_http(latchkey.socket, "GET", "/v1/accounts")[2])["accounts"]) == 2
    assert latchkey.process.poll() is None


def test_metrics_in_prometheus_text(latchkey, provider, person):
    provider.configure(interval=1)
    latchkey.write_config('[broker]\nstore = "memory"\n' + account(latchkey, provider))
    latchkey.start()
    assert latchkey.login("work", person)[0] == 0
    for _ in range(3):
        assert latchkey.run("token", "work").returncode == 0
    assert latchkey.run("token", "work", "--min-valid", "7200").returncode == 0  # one refresh on request
    status, headers, body = unix_http(latchkey.socket, "GET", "/metrics")
    text = body.decode()
    assert status == 200 and headers["content-type"].startswith("text/plain; version=0.0.4")
    assert "latchkey_token_cache_hits_total 3" in text
    assert 'latchkey_refreshes_total{outcome="ok"} 1' in text
    assert 'latchkey_refreshes_started_total{trigger="request"} 1' in text
    assert "latchkey_provider_latency_seconds_count 1" in text
    assert 'latchkey_accounts{state="valid"} 1' in text


def test_each_scope_set_has_its_own_token_and_single_flight(latchkey, provider, person):
    from support.provider import jwt_claims
    provider.configure(interval=1)
    latchkey.write_config('[broker]\nstore = "memory"\n' + account(latchkey, provider))
    latchkey.start()
    assert latchkey.login("work", person)[0] == 0
    own = latchkey.run("token", "work").stdout.strip()
    before = provider.counters()["token_refresh"]
    provider.fault("token", "hang", seconds=2, count=1)  # the one refresh takes a while: all must join it
    results = asyncio.run(concurrent_gets(latchkey.socket, "/v1/accounts/work/token?scope=openid", 50))
    assert all(status == 200 for status, _, _ in results)
    tokens = {body["access_token"] for _, body, _ in results}
    assert len(tokens) == 1
    narrow = tokens.pop()
    assert jwt_claims(narrow)["scp"] == "openid"
    assert provider.counters()["token_refresh"] - before == 1
    # Cached per scope set; the account's own token is untouched and still served from memory.
    assert latchkey.run("token", "work", "--scope", "openid").stdout.strip() == narrow
    assert latchkey.run("token", "work").stdout.strip() == own
    assert provider.counters()["token_refresh"] - before == 1
    # The shared refresh token rotated: the account's own next refresh uses the new one.
    assert latchkey.run("token", "work", "--min-valid", "7200").returncode == 0
    assert provider.counters()["last_refresh_token_reused"] is False
    assert_no_secrets(latchkey, provider)
