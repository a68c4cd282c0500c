"""Issue 16 end to end: the daemon owns all of its work, so a stop loses nothing.

SIGTERM while a refresh is in flight (the provider holds its answer): the request waiting on it
is answered, the rotated refresh token is stored before the daemon exits 0, and after a restart
the provider sees that rotated refresh token used (no new sign-in, nothing reused). SIGTERM
while a login stream is open: the sign-in is cancelled, the client is told why, exit 0. Both
with SWIFTNIO_STRICT=1 (work left running on a stopped event loop would crash the daemon)
and no NIO error in the log. And a hung daemon (accepts, never answers) makes the client exit
75 when its receive timeout expires, on the fast path and the full one.
"""

import os
import signal
import socket
import subprocess
import threading

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
