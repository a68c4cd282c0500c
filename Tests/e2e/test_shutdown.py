"""Issue 16 end to end: the daemon owns all of its work, so a stop loses nothing.

SIGTERM while a refresh is in flight (the provider holds its answer): the request waiting on it
is answered, the rotated refresh token is stored before the daemon exits 0, and after a restart
the provider sees that rotated refresh token used (no new sign-in, nothing reused). SIGTERM
while a login stream is open: the sign-in is cancelled, the client is told why, exit 0. Both
with SWIFTNIO_STRICT=1 (work left running on a stopped event loop would crash the daemon)
and no NIO error in the log. And a hung daemon (accepts, never answers) makes the client exit
75 when its receive timeout expires, on the fast path and the full one. A daemon started while
another still drains (as `latchkey` autostarts one when nothing answers) waits for it to end
before it serves the store, and the one that ends leaves its successor's socket in place.
"""

import os
import signal
import socket
import struct
import subprocess
import threading

from support.latchkey import Latchkey, unix_http
from test_crash_safety import account, assert_works, start_signed_in, token, wait_for
from test_latchkey_device_flow import assert_no_secrets

NIO_ERRORS = ("Cannot schedule tasks", "already shut down", "Fatal error", "BUG DETECTED")


def assert_clean_stop(latchkey):
    """The daemon ended on SIGTERM with status 0 and no NIO complaint in its log."""
    assert latchkey.process.wait(timeout=60) == 0, latchkey.log_text()
    log = latchkey.log_text()
    for text in NIO_ERRORS:
        assert text not in log, log
    assert "latchkeyd stopped" in log


def test_sigterm_during_a_refresh_keeps_the_rotated_refresh_token(latchkey, provider, person, tmp_path):
    latchkey.extra_env["SWIFTNIO_STRICT"] = "1"
    _, record = start_signed_in(latchkey, provider, person, tmp_path)
    assert provider.counters()["token_refresh"] == 0
    provider.fault("token", "hang", seconds=3, count=1)  # a slow provider: it answers, late
    waiting = subprocess.Popen(
        [str(latchkey.bin / "latchkey"), "token", "work", "--no-autostart", "--min-valid", "86400"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=latchkey.env)
    assert wait_for(lambda: provider.counters()["token_refresh"] == 1, 15)  # the provider holds it
    latchkey.process.send_signal(signal.SIGTERM)
    assert_clean_stop(latchkey)
    # The request that waited on the refresh got its token before the daemon went.
    out, err = waiting.communicate(timeout=60)
    assert waiting.returncode == 0, err
    assert provider.resource(out.strip()).status_code == 200
    assert provider.counters()["token_refresh_ok"] == 1

    latchkey.start()  # the same store
    assert account(latchkey)["state"] == "valid"
    assert_works(latchkey, provider, record)  # a forced refresh with the stored, rotated token
    counters = provider.counters()
    assert counters["token_refresh_ok"] >= 2 and counters["last_refresh_token_reused"] is False
    latchkey.stop()
    assert_no_secrets(latchkey, provider)


def test_sigterm_with_a_login_stream_open_cancels_the_sign_in(latchkey, provider, person):
    latchkey.extra_env["SWIFTNIO_STRICT"] = "1"
    latchkey.write_config(latchkey.oauth_account("work", provider.url, provider.ca))
    latchkey.start()
    login = subprocess.Popen([str(latchkey.bin / "latchkey"), "login", "work", "--no-autostart"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=latchkey.env)
    shown = []
    while not any("enter the code" in line for line in shown):
        line = login.stderr.readline()
        assert line, "".join(shown)
        shown.append(line)
    latchkey.process.send_signal(signal.SIGTERM)
    assert_clean_stop(latchkey)
    _, err = login.communicate(timeout=60)
    err = "".join(shown) + err
    assert login.returncode == 75, err  # told why, and that trying again later helps
    assert "daemon is stopping" in err
    assert "sign-in cancelled" in latchkey.log_text()


def answers(path):
    """Whether a daemon answers GET /v1/health on this socket path now."""
    try:
        return unix_http(path, "GET", "/v1/health", timeout=2)[0] == 200
    except OSError:
        return False


def draining(latchkey, provider, person, tmp_path, hold=10):
    """Daemon A, signed in, gets SIGTERM while the provider holds a refresh for `hold` seconds;
    returns once A no longer answers (it drains), with the client that waits on A's refresh."""
    start_signed_in(latchkey, provider, person, tmp_path)
    provider.fault("token", "hang", seconds=hold, count=1)
    waiting = subprocess.Popen(
        [str(latchkey.bin / "latchkey"), "token", "work", "--no-autostart", "--min-valid", "86400"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=latchkey.env)
    assert wait_for(lambda: provider.counters()["token_refresh"] == 1, 15)  # the provider holds it
    latchkey.process.send_signal(signal.SIGTERM)
    assert wait_for(lambda: not answers(latchkey.socket), 15)
    assert latchkey.process.poll() is None, latchkey.log_text()  # still draining
    return waiting


def successor_while_draining(latchkey, provider, person, tmp_path):
    """While A drains (`draining`), daemon B is started on the same store and socket path, not
    awaited. Returns (B, the client that waited on A's refresh)."""
    waiting = draining(latchkey, provider, person, tmp_path)
    successor = Latchkey(latchkey.root, str(latchkey.bin))
    successor.log = latchkey.root / "successor.log"
    successor.extra_env = dict(latchkey.extra_env)
    successor.start(wait=False)
    return successor, waiting


def test_a_daemon_that_drains_leaves_its_successors_socket(latchkey, provider, person, tmp_path):
    successor, waiting = successor_while_draining(latchkey, provider, person, tmp_path)
    try:
        assert_clean_stop(latchkey)
        _, err = waiting.communicate(timeout=60)
        assert waiting.returncode == 0, err
        successor.wait_ready()
        assert os.path.exists(latchkey.socket)
        status = latchkey.run("status", "--no-autostart")
        assert status.returncode == 0, (status.stderr, successor.log_text())
        assert successor.process.poll() is None
    finally:
        successor.stop()


def test_only_one_daemon_serves_a_store_the_successor_waits(latchkey, provider, person, tmp_path):
    successor, waiting = successor_while_draining(latchkey, provider, person, tmp_path)
    try:
        waits = "waiting for the Latchkey daemon that is stopping"
        assert wait_for(lambda: answers(latchkey.socket) or waits in successor.log_text(), 15), \
            successor.log_text()
        answered = answers(latchkey.socket)
        assert latchkey.process.poll() is None  # A ran all along, so B must not have answered
        assert not answered, "B served the store while A still drained:\n" + successor.log_text()
        assert_clean_stop(latchkey)
        out, err = waiting.communicate(timeout=60)
        assert waiting.returncode == 0, err  # A's refresh finished and stored its rotated token
        successor.wait_ready()
        # B read the store after A had written it: its refresh uses the rotated refresh token.
        refreshed = token(latchkey, "--min-valid", "86400")
        assert refreshed.returncode == 0, (refreshed.stderr, successor.log_text())
        counters = provider.counters()
        assert counters["token_refresh_ok"] == 2 and counters["last_refresh_token_reused"] is False
        assert account(latchkey)["state"] == "valid"
    finally:
        successor.stop()


def peer_pid(path):
    """The process id of the daemon answering on this socket path (SO_PEERCRED)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.connect(path)
        pid, _, _ = struct.unpack("3i", s.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i")))
    return pid


def daemons_on(runtime):
    """The process ids of the running latchkeyd processes whose XDG_RUNTIME_DIR is `runtime`."""
    found = []
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
            with open(f"/proc/{entry}/environ", "rb") as f:
                env = f.read().split(b"\0")
        except OSError:
            continue
        if argv[0].endswith(b"latchkeyd") and f"XDG_RUNTIME_DIR={runtime}".encode() in env:
            found.append(int(entry))
    return found


def test_a_command_during_the_drain_autostarts_a_daemon_that_serves_after(latchkey, provider, person, tmp_path):
    """The reviewer's path: `latchkey status` while A drains finds nobody and starts B itself;
    once A has ended, B (the only daemon of this store) answers on the socket, that command
    included."""
    # A drains for longer than the client's usual 10 s wait for a daemon it started: the
    # client waits on while the socket's lock is held, and its command is answered by B.
    waiting = draining(latchkey, provider, person, tmp_path, hold=16)
    try:
        done = latchkey.run("status")  # autostarts B, which waits for A to end
        assert done.returncode == 0, done.stderr
        assert "work" in done.stdout, done.stdout
        assert_clean_stop(latchkey)
        _, err = waiting.communicate(timeout=60)
        assert waiting.returncode == 0, err
        assert wait_for(lambda: answers(latchkey.socket), 30)
        assert daemons_on(latchkey.runtime) == [peer_pid(latchkey.socket)]
        status = latchkey.run("status", "--no-autostart")
        assert status.returncode == 0, status.stderr
    finally:
        for pid in daemons_on(latchkey.runtime):
            os.kill(pid, signal.SIGTERM)
        assert wait_for(lambda: not daemons_on(latchkey.runtime), 30)


def test_a_hung_daemon_makes_the_client_exit_75(latchkey):
    """A process of the same user that accepts on the socket and never answers."""
    folder = latchkey.runtime / "latchkey"
    folder.mkdir(mode=0o700, exist_ok=True)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(latchkey.socket)
    listener.listen(16)
    held = []
    stop = threading.Event()

    def accept():
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    latchkey.extra_env["LATCHKEY_TIMEOUT"] = "2"
    try:
        for args in (("token", "work"), ("token", "work", "--min-valid", "60"), ("header", "work"), ("status",)):
            done = latchkey.run(*args, timeout=30)
            assert done.returncode == 75, (args, done.returncode, done.stderr)
            assert done.stdout == ""
            assert "did not answer within 2 s" in done.stderr, done.stderr
            assert "hung" in done.stderr
        assert len(held) >= 4  # each command asked once: no health check, no second try
    finally:
        stop.set()
        thread.join()
        for conn in held:
            conn.close()
        listener.close()
        os.unlink(latchkey.socket)
