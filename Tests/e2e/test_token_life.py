"""Issue 18 end to end: use-aware refresh and a scheduler that sleeps until something is due.
An idle account is kept alive across the provider's inactivity window without a refresh at
every expiry; an account in use is refreshed ahead of expiry; a wall-clock jump (libfaketime on
the daemon, and the kernel's clock-change notice) starts a due refresh at once — against the real provider and the real daemon."""

import json
import os
import signal
import time

from support.latchkey import poll, unix_http

LIBFAKETIME = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"


def configure(latchkey, provider, broker):
    latchkey.write_config(f'[broker]\nstore = "memory"\n{broker}\n'
                          + latchkey.oauth_account("work", provider.url, provider.ca))


def refreshes(provider):
    return provider.counters()["token_refresh_ok"]


def test_an_idle_account_is_kept_alive_and_not_refreshed_at_every_expiry(latchkey, provider, person):
    # 10-second tokens (refreshed every ~5 s if kept fresh), refresh tokens that die after 30 s
    # unused (AADSTS700082 in microsoft mode), a keep-alive every 20 s.
    provider.configure(interval=1, access_token_lifetime=10, refresh_token_inactivity=30, microsoft=True)
    configure(latchkey, provider, 'active_window = "15s"\nkeepalive_interval = "20s"')
    latchkey.start()
    assert latchkey.login("work", person)[0] == 0
    time.sleep(70)  # more than two inactivity windows; nobody asks for the account
    idle = refreshes(provider)
    # Kept fresh, it would have been refreshed about 14 times; kept alive, 3 times (~18-20 s apart).
    assert 2 <= idle <= 4, idle
    log = latchkey.log_text()
    assert log.count("trigger=keep-alive") == idle, log[-2000:]
    assert "trigger=proactive" not in log
    # The refresh token survived: the first request after the quiet spell costs one refresh.
    done = latchkey.run("token", "work")
    assert done.returncode == 0, done.stderr
    assert provider.resource(done.stdout.strip()).status_code == 200
    assert refreshes(provider) == idle + 1
    assert "AADSTS700082" not in latchkey.log_text()


def test_an_account_in_use_is_refreshed_ahead_of_expiry_until_it_falls_idle(latchkey, provider, person):
    provider.configure(interval=1, access_token_lifetime=10)
    configure(latchkey, provider, 'min_valid = "2s"\nactive_window = "15s"\nkeepalive_interval = "1d"')
    latchkey.start()
    assert latchkey.login("work", person)[0] == 0
    deadline = time.monotonic() + 25
    while time.monotonic() < deadline:
        status, _, body = unix_http(latchkey.socket, "GET", "/v1/accounts/work/token")
        assert status == 200, body
        assert json.loads(body)["expires_at"] - time.time() >= 2 - 1
        time.sleep(0.5)
    active = refreshes(provider)
    assert active >= 3, active  # about one every 5 s
    log = latchkey.log_text()
    assert log.count("trigger=proactive") >= active and "trigger=request" not in log
    # Idle once the active window has passed: no refresh at the next expiries.
    time.sleep(15 + 6)
    settled = refreshes(provider)
    time.sleep(25)
    assert refreshes(provider) == settled


def test_a_wall_clock_jump_forward_starts_a_due_refresh(latchkey, provider, person, tmp_path):
    assert os.path.exists(LIBFAKETIME), "faketime is not installed (scripts/install-deps.sh installs it)"
    provider.configure(interval=1, access_token_lifetime=3600)
    configure(latchkey, provider, "")
    offset = tmp_path / "faketime"
    offset.write_text("+0\n")
    # The daemon's wall clock only; its monotonic timers stay true, as after a clock step.
    latchkey.start(prefix=["env", f"LD_PRELOAD={LIBFAKETIME}", f"FAKETIME_TIMESTAMP_FILE={offset}",
                           "FAKETIME_NO_CACHE=1", "DONT_FAKE_MONOTONIC=1"])
    assert latchkey.login("work", person)[0] == 0
    assert latchkey.run("token", "work").returncode == 0  # in use
    time.sleep(3)
    assert refreshes(provider) == 0
    offset.write_text("+58m\n")  # past the refresh due time (~55 min), before expiry
    # libfaketime moves the daemon's clock only. The kernel tells of a clock change (a step,
    # or a resume from suspend, which the kernel reports alike) to every timerfd armed with
    # TFD_TIMER_CANCEL_ON_SET: setting the real clock to what it reads sends that notice
    # and moves the clock by microseconds at most.
    jumped = time.monotonic()
    time.clock_settime(time.CLOCK_REALTIME, time.clock_gettime(time.CLOCK_REALTIME))
    # The daemon judges due times again at once: the refresh starts within a second or two.
    assert poll(lambda: refreshes(provider) >= 1, timeout=30, step=0.1), latchkey.log_text()[-2000:]
    delay = time.monotonic() - jumped
    print(f"wall-clock jump: refresh {delay:.2f} s after the clock change")
    assert delay <= 3, delay
    log = latchkey.log_text()
    assert "trigger=proactive" in log and "the wall clock was set" in log, log[-2000:]


def test_the_sign_in_forecast_is_shown_and_announced_once(latchkey, provider, person, tmp_path):
    # A tenant whose sessions last 40 s from the interactive sign-in (AADSTS70043 after that).
    provider.configure(interval=1, access_token_lifetime=20, session_lifetime=40, microsoft=True)
    record = tmp_path / "notified.txt"
    latchkey.write_config(
        '[broker]\nstore = "memory"\nsignin_warning = "30s"\nnotify = "command"\n'
        f'notify_command = ["sh", "-c", "printf \'%s|%s\\\\n\' \\"$0\\" \\"$1\\" >> {record}"]\n'
        + latchkey.oauth_account("work", provider.url, provider.ca, extra='session_lifetime = "40s"'))
    latchkey.start()
    before = time.time()
    assert latchkey.login("work", person)[0] == 0
    after = time.time()
    listed = json.loads(latchkey.run("status", "--json").stdout)["accounts"][0]
    # auth_time is whole seconds, taken between the two readings.
    assert int(before) + 40 - 1 <= listed["signin_needed_by"] <= after + 40 + 1, (before, listed, after)
    assert "session_lifetime" in listed["signin_reason"]
    shown = latchkey.run("status").stdout
    assert "work: sign-in needed by" in shown and "40 s" in shown, shown
    _, _, metrics = unix_http(latchkey.socket, "GET", "/metrics")
    assert b'latchkey_signin_needed_seconds{account="work"}' in metrics
    # The warning goes out 30 s ahead (about 10 s after the sign-in), once.
    assert poll(record.exists, timeout=30)
    time.sleep(3)
    lines = record.read_text().splitlines()
    assert len(lines) == 1 and "sign in to 'work' soon" in lines[0], lines
    # Past the lifetime the provider ends the session and states the lifetime: it is learnt.
    time.sleep(max(0, before + 42 - time.time()))
    done = latchkey.run("token", "work")
    assert done.returncode != 0 and "AADSTS70043" in done.stderr, done.stderr
    detail = json.loads(latchkey.run("status", "work", "--json").stdout)
    assert detail["session_lifetime_learnt"] == 40
    assert len(record.read_text().splitlines()) >= 1


def test_without_a_keep_alive_the_refresh_token_dies_of_inactivity_as_forecast(latchkey, provider, person):
    # The provider's inactivity window is real: with no keep-alive inside it, the refresh
    # token dies (AADSTS700082), on the date `status` gave.
    provider.configure(interval=1, access_token_lifetime=10, refresh_token_inactivity=15, microsoft=True)
    configure(latchkey, provider, 'keepalive_interval = "1d"')
    text = latchkey.config.read_text().replace('client_id = "latchkey-test"', 'client_id = "latchkey-test"\ninactivity_limit = "15s"')
    latchkey.write_config(text)
    latchkey.start()
    before = time.time()
    assert latchkey.login("work", person)[0] == 0
    after = time.time()
    listed = json.loads(latchkey.run("status", "--json").stdout)["accounts"][0]
    assert before + 15 - 1 <= listed["signin_needed_by"] <= after + 15 + 1, (before, listed, after)
    assert "unused" in listed["signin_reason"]
    time.sleep(max(0, after + 17 - time.time()))
    done = latchkey.run("token", "work")
    assert done.returncode != 0 and "AADSTS700082" in done.stderr, done.stderr
    assert refreshes(provider) == 0


def test_a_warning_sent_is_remembered_across_a_restart(latchkey, provider, person, tmp_path):
    # The warning-once flag is stored when the warning goes out, not with the next token write:
    # tokens here last an hour, so nothing else is written between the warning and the restart.
    provider.configure(interval=1, access_token_lifetime=3600)
    record = tmp_path / "notified.txt"
    key = tmp_path / "k.key"
    key.write_bytes(os.urandom(32))
    key.chmod(0o600)
    latchkey.write_config(
        f'[broker]\nstore = "file"\nkey_file = "{key}"\nstore_file = "{tmp_path}/s.bin"\n'
        'signin_warning = "3h"\nnotify = "command"\n'
        f'notify_command = ["sh", "-c", "printf \'%s|%s\\\\n\' \\"$0\\" \\"$1\\" >> {record}"]\n'
        + latchkey.oauth_account("work", provider.url, provider.ca, extra='session_lifetime = "2h"'))
    latchkey.start()
    assert latchkey.login("work", person)[0] == 0
    # The deadline is within signin_warning at once: the warning goes out right after the sign-in.
    assert poll(record.exists, timeout=30)
    time.sleep(2)
    assert len(record.read_text().splitlines()) == 1
    # No chance to write anything at shutdown; the new daemon restores the flag from the store.
    latchkey.restart(signal.SIGKILL)
    assert latchkey.run("token", "work").returncode == 0  # restored and served
    time.sleep(5)  # the new scheduler's first pass is long over
    lines = record.read_text().splitlines()
    assert len(lines) == 1, lines
