"""Issue 15, attack 9: a failing `--scope` token request stays on its scope. It sends no
"sign in again" notification (the account is fine), leaves the account `valid`, and does not
use up the notification limit that a real failure of the account needs."""

import time

from test_token_policy import account


def notify_config(latchkey, provider, record):
    return ('[broker]\nstore = "memory"\nnotify = "command"\n'
            f'notify_command = ["sh", "-c", "printf \'%s|%s\\\\n\' \\"$0\\" \\"$1\\" >> {record}"]\n'
            + account(latchkey, provider))


def lines_after_a_while(record, wait_for=0):
    """The notify_command lines: waits for `wait_for` of them (at most 10 s), then 1 s more,
    so a late extra notification is seen too."""
    deadline = time.time() + 10
    while time.time() < deadline and wait_for and (not record.exists() or len(record.read_text().splitlines()) < wait_for):
        time.sleep(0.1)
    time.sleep(1)
    return record.read_text().splitlines() if record.exists() else []


def test_a_failing_scoped_request_notifies_nobody_and_leaves_the_account_valid(latchkey, provider, person, tmp_path):
    record = tmp_path / "notified.txt"
    provider.configure(interval=1)
    latchkey.write_config(notify_config(latchkey, provider, record))
    latchkey.start()
    assert latchkey.login("work", person)[0] == 0
    own = latchkey.run("token", "work").stdout.strip()
    # The provider refuses this scope set (a permanent answer, as for a scope never consented).
    provider.fault("token", "status", status=400, error="invalid_scope", count=1)
    done = latchkey.run("token", "work", "--scope", "calendar.write")
    assert done.returncode == 77, done.stderr
    assert lines_after_a_while(record) == [], "a scoped failure must not tell the person to sign in again"
    status, _, body = latchkey.api("GET", "/v1/accounts/work")
    assert status == 200 and b'"state":"valid"' in body.replace(b" ", b"")
    assert "calendar.write" in done.stderr and "latchkey login" not in done.stderr, "the error is about the scope set"
    assert latchkey.run("token", "work").stdout.strip() == own

    # The account's own failure later is still told, once: the scoped one used up no limit.
    provider.fault("token", "status", status=400, error="invalid_grant", count=5)
    assert latchkey.run("token", "work", "--min-valid", "7200").returncode == 77
    lines = lines_after_a_while(record, wait_for=1)
    assert len(lines) == 1 and "sign in to 'work' again" in lines[0]
