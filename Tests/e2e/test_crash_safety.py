"""Issue 9 end to end: crash safety and provider faults during a refresh.

`kill -9` of the daemon at every step of a refresh (the test-only crash points of
Sources/LatchkeyBroker/CrashPoint.swift and Sources/LatchkeyStore/StoreCrashPoint.swift, armed
with LATCHKEY_TEST_CRASH_AT), then a restart: the account works, or it is clearly
`signin_required` (exit 77 with the `latchkey login` hint, one notification) — never silently
broken. The one window that cannot be closed is the provider rotating the refresh token while
the answer, or its persistence, is lost; the tests pin down exactly where it is.

Then the faults test_token_policy.py does not cover (502, 429 with Retry-After, an HTML page,
an empty body, a dropped connection): no crash, the still-valid token keeps being served, and
the account recovers by itself with no new sign-in.
"""

import json
import os
import signal
import subprocess
import time

import pytest

from support.latchkey import poll
from test_latchkey_device_flow import assert_no_secrets

CRASH_ENV = "LATCHKEY_TEST_CRASH_AT"


# --------------------------------------------------------------------- helpers

def start_signed_in(latchkey, provider, person, tmp_path, lifetime=20):
    """A daemon on the encrypted file store, with notify_command recording every notification,
    signed in as alice. Returns (store file, notification record)."""
    provider.configure(interval=1, access_token_lifetime=lifetime)
    key = tmp_path / "latchkey.key"
    key.write_bytes(os.urandom(32))
    key.chmod(0o600)
    store_file = tmp_path / "data" / "store.bin"
    record = tmp_path / "notified.txt"
    latchkey.write_config(
        f'[broker]\nstore = "file"\nkey_file = "{key}"\nstore_file = "{store_file}"\n'
        'notify = "command"\n'
        f'notify_command = ["sh", "-c", "printf \'%s|%s\\\\n\' \\"$0\\" \\"$1\\" >> {record}"]\n\n'
        + latchkey.oauth_account("work", provider.url, provider.ca))
    latchkey.start()
    code, _, err, _ = latchkey.login("work", person)
    assert code == 0, err
    return store_file, record


def token(latchkey, *args):
    """`latchkey token work`, never starting a daemon of its own: a daemon that died must show."""
    return latchkey.run("token", "work", "--no-autostart", *args)


def account(latchkey):
    status, _, body = latchkey.api("GET", "/v1/accounts/work")
    assert status == 200, body
    return json.loads(body)


def notifications(record):
    return record.read_text().splitlines() if record.exists() else []


def wait_for(condition, timeout):
    return poll(condition, timeout, step=0.1)


def crash_at(latchkey, point):
    """Restarts the daemon with the crash point armed and makes it refresh (--min-valid 86400
    is more than any token of the provider has): it must die by SIGKILL at that point, and the
    client that waited must get no token (exit 69: the daemon is gone)."""
    latchkey.stop()
    latchkey.extra_env[CRASH_ENV] = point
    latchkey.start()
    waited = token(latchkey, "--min-valid", "86400")
    latchkey.process.wait(timeout=15)
    assert latchkey.process.returncode == -signal.SIGKILL, latchkey.log_text()
    assert f"crash point {point}" in latchkey.log_text()
    assert waited.returncode == 69 and waited.stdout == "", (waited.returncode, waited.stderr)
    assert "closed the connection without an answer" in waited.stderr
    del latchkey.extra_env[CRASH_ENV]
    latchkey.start()  # the same store, no crash point
    return waited


def assert_works(latchkey, provider, record):
    """A refresh (forced) succeeds with the refresh token the store kept, and the token is
    accepted by the provider's resource; no new sign-in, nothing reused, nobody notified."""
    refreshed = token(latchkey, "--min-valid", "86400")
    assert refreshed.returncode == 0, refreshed.stderr
    assert provider.resource(refreshed.stdout.strip()).status_code == 200
    plain = token(latchkey)
    assert plain.returncode == 0 and provider.resource(plain.stdout.strip()).status_code == 200
    assert account(latchkey)["state"] == "valid"
    counters = provider.counters()
    assert counters["device_authorization"] == 1
    assert counters["last_refresh_token_reused"] is False
    assert notifications(record) == []


def assert_signin_required(latchkey, provider, person, record):
    """The provider refuses the refresh token the store kept (it was rotated): exit 77 with the
    hint, every time (no 75/69 loop, no token), state signin_required with a clear last error,
    exactly one notification; and a new sign-in repairs it."""
    for _ in range(3):
        done = token(latchkey)
        assert done.returncode == 77, (done.returncode, done.stderr)
        assert done.stdout == ""
        assert "latchkey login work" in done.stderr
        assert "already used" in done.stderr  # the provider's reason, in plain words
    state = account(latchkey)
    assert state["state"] == "signin_required"
    assert "Signing in to 'work' again is needed" in state["last_error"]
    assert provider.counters()["last_refresh_token_reused"] is True
    assert wait_for(lambda: len(notifications(record)) >= 1, 10)
    time.sleep(0.5)
    lines = notifications(record)
    assert len(lines) == 1 and "sign in to 'work' again" in lines[0] and "latchkey login work" in lines[0]
    # The person signs in again and everything works.
    assert latchkey.login("work", person)[0] == 0
    fresh = token(latchkey, "--min-valid", "86400")
    assert fresh.returncode == 0 and provider.resource(fresh.stdout.strip()).status_code == 200
    assert account(latchkey)["state"] == "valid"


# --------------------------------------------------------------------- kill -9 at every step

# The expected outcome of a kill -9 at each point, and why:
#   refresh.before_request             works: the old refresh token was never sent.
#   refresh.after_answer               signin_required: the provider rotated, Latchkey kept
#                                      nothing, and the old refresh token is refused (the window).
#   refresh.after_refresh_token_stored works: the rotated refresh token was stored first; only
#                                      the access token was lost, and a refresh replaces it.
#   store.before_rename                signin_required: the new store file was written and
#                                      synced but never renamed; the old file is intact and
#                                      read at start-up, and its (rotated) refresh token is
#                                      refused, as after_answer — this provider has no grace
#                                      period for a rotated refresh token.
CRASH_POINTS = [
    ("refresh.before_request", "works"),
    ("refresh.after_answer", "signin_required"),
    ("refresh.after_refresh_token_stored", "works"),
    ("store.before_rename", "signin_required"),
]


@pytest.mark.parametrize("point, outcome", CRASH_POINTS, ids=[p for p, _ in CRASH_POINTS])
def test_kill_9_at_each_step_of_a_refresh(latchkey, provider, person, tmp_path, point, outcome):
    store_file, record = start_signed_in(latchkey, provider, person, tmp_path)
    stored = store_file.read_bytes()
    before = provider.counters()
    assert before["token_refresh"] == 0

    crash_at(latchkey, point)

    reached = provider.counters()
    temporaries = list(store_file.parent.glob(store_file.name + ".tmp-*"))
    if point == "refresh.before_request":
        assert reached["token_refresh"] == 0  # nothing left the daemon
        assert store_file.read_bytes() == stored and temporaries == []
    elif point == "refresh.after_answer":
        assert reached["token_refresh_ok"] == 1  # the provider rotated...
        assert store_file.read_bytes() == stored and temporaries == []  # ...and nothing was kept
    elif point == "refresh.after_refresh_token_stored":
        assert reached["token_refresh_ok"] == 1
        assert store_file.read_bytes() != stored and temporaries == []  # the new refresh token is on disk
    elif point == "store.before_rename":
        assert reached["token_refresh_ok"] == 1
        # The old file, byte for byte; the new version lies beside it, never renamed.
        assert store_file.read_bytes() == stored and len(temporaries) == 1

    # The restarted daemon read the store (the old or the new file, never a broken one).
    assert account(latchkey)["state"] != "error"
    assert "integrity check" not in latchkey.log_text()
    if outcome == "works":
        assert_works(latchkey, provider, record)
    else:
        assert_signin_required(latchkey, provider, person, record)
    assert_no_secrets(latchkey, provider)


def test_rotate_then_fail_lands_in_signin_required_clearly(latchkey, provider, person, tmp_path):
    """The provider rotates the refresh token, then its answer is lost (a 500): the still-valid
    access token keeps being served, the retry with the old refresh token is refused, and the
    account lands in signin_required with one notification — no loop, no silent breakage."""
    _, record = start_signed_in(latchkey, provider, person, tmp_path, lifetime=300)
    first = token(latchkey).stdout.strip()
    provider.fault("token", "rotate_then_fail", count=1)
    served = token(latchkey, "--min-valid", "86400")
    assert served.returncode == 0 and served.stdout.strip() == first  # still valid: still served
    assert provider.resource(first).status_code == 200
    assert provider.counters()["token_refresh"] == 1
    # The backoff retry (about 2 s later) uses the only refresh token Latchkey has: refused.
    assert wait_for(lambda: account(latchkey)["state"] == "signin_required", 15)
    assert provider.counters()["token_refresh"] == 2  # one retry, then it stops asking
    assert_signin_required(latchkey, provider, person, record)
    assert latchkey.process.poll() is None
    assert_no_secrets(latchkey, provider)


def test_kill_9_while_a_refresh_hangs_at_the_provider(latchkey, provider, person, tmp_path):
    """The provider hangs and never grants (a hang with a status); the daemon is killed while it
    waits. After a restart the stored refresh token is still the live one: the account works."""
    store_file, record = start_signed_in(latchkey, provider, person, tmp_path)
    stored = store_file.read_bytes()
    provider.fault("token", "hang", seconds=4, status=504, count=1)
    waiting = subprocess.Popen([str(latchkey.bin / "latchkey"), "token", "work", "--no-autostart", "--min-valid", "86400"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=latchkey.env)
    assert wait_for(lambda: provider.counters()["token_refresh"] == 1, 10)  # the request is at the provider
    time.sleep(0.3)
    assert latchkey.stop(signal.SIGKILL) == -signal.SIGKILL
    out, err = waiting.communicate(timeout=30)
    latchkey.transcript.append((["latchkey", "token"], waiting.returncode, out, err))
    assert waiting.returncode == 69 and out == "", (waiting.returncode, err)
    assert store_file.read_bytes() == stored
    latchkey.start()
    assert_works(latchkey, provider, record)
    assert provider.counters()["token_refresh_ok"] >= 1
    assert_no_secrets(latchkey, provider)


# --------------------------------------------------------------------- faults during a refresh

# (id, fault options, shortest wait before the retry): 2 s is the first backoff step.
FAULTS = [
    ("502", {"mode": "status", "status": 502}, 2),
    ("429-retry-after", {"mode": "status", "status": 429, "retry_after": 4}, 4),
    ("html-page", {"mode": "html"}, 2),
    ("empty-body", {"mode": "empty"}, 2),
    ("dropped-connection", {"mode": "drop"}, 2),
]


@pytest.mark.parametrize("options, backoff", [(o, b) for _, o, b in FAULTS], ids=[i for i, _, _ in FAULTS])
def test_fault_during_refresh_serves_the_valid_token_and_recovers_by_itself(latchkey, provider, person, tmp_path,
                                                                           options, backoff):
    _, record = start_signed_in(latchkey, provider, person, tmp_path, lifetime=300)
    first = token(latchkey).stdout.strip()
    options = dict(options)
    provider.fault("token", options.pop("mode"), count=1, **options)

    served = token(latchkey, "--min-valid", "86400")  # a refresh, which meets the fault
    failed_at = time.time()
    assert served.returncode == 0, served.stderr
    assert served.stdout.strip() == first  # the still-valid token is served through the fault
    assert provider.resource(first).status_code == 200
    assert provider.counters()["token_refresh"] == 1
    assert latchkey.process.poll() is None  # no crash
    backing_off = account(latchkey)
    assert backing_off["state"] == "error" and backing_off["last_error"]
    again = token(latchkey)
    assert again.returncode == 0 and again.stdout.strip() == first  # no refresh during the backoff

    # The scheduler retries by itself once the backoff (or Retry-After) has passed.
    assert wait_for(lambda: provider.counters()["token_refresh_ok"] == 1, backoff + 8)
    retried_after = time.time() - failed_at
    assert retried_after >= backoff - 0.5, retried_after
    # The provider counts before its answer reaches the daemon, which then stores it.
    assert wait_for(lambda: account(latchkey)["state"] == "valid", 5)
    recovered = token(latchkey)
    assert recovered.returncode == 0 and recovered.stdout.strip() != first
    assert provider.resource(recovered.stdout.strip()).status_code == 200
    state = account(latchkey)
    assert state["state"] == "valid" and state["last_error"] is None
    counters = provider.counters()
    assert counters["token_refresh"] == 2 and counters["device_authorization"] == 1  # no session lost
    assert counters["last_refresh_token_reused"] is False
    assert notifications(record) == []
    assert "token refresh failed" in latchkey.log_text()
    assert_no_secrets(latchkey, provider)
