"""Issue 14, "reload stays safe": hostile configuration files sent by SIGHUP to a daemon with a
signed-in account. A file that is not valid, or holds a value no setting takes, leaves the
daemon serving on its last good configuration and logs the file, line, column and key; a CRLF
or BOM file that is otherwise valid loads as the person meant it. The token is never lost."""

import json
import signal
import time

from support.latchkey import unix_http


def wait_for(condition, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def accounts(latchkey):
    status, _, body = unix_http(latchkey.socket, "GET", "/v1/accounts")
    assert status == 200
    return sorted(a["name"] for a in json.loads(body)["accounts"])


def reload(latchkey, data, outcome):
    """Writes `data` as the config, sends SIGHUP and waits for the daemon to log `outcome`
    once more than before; returns the log lines that came with it."""
    before = latchkey.log_text()
    latchkey.config.write_bytes(data)
    latchkey.process.send_signal(signal.SIGHUP)
    assert wait_for(lambda: latchkey.log_text().count(outcome) > before.count(outcome), 10), latchkey.log_text()
    return latchkey.log_text()[len(before):]


def test_hostile_reloads_keep_the_last_good_configuration_and_name_the_place(latchkey, provider, person):
    provider.configure(interval=1)
    good = '[broker]\nstore = "memory"\n' + latchkey.oauth_account("work", provider.url, provider.ca)
    latchkey.write_config(good)
    latchkey.start()
    assert latchkey.login("work", person)[0] == 0
    token = latchkey.run("token", "work").stdout.strip()
    assert token
    config = str(latchkey.config)
    end = good.count("\n") + 1  # the line after the good file's last
    # The account section starts at line 3; client_id is at line 7.
    hostile = [
        ('[broker]\nstore = "memory"\nprovider_timeout = "infs"\n', f"{config}:3:20: broker.provider_timeout",
         "must be a duration such as"),
        ('[broker]\nstore = "memory"\nmin_valid = nan\n', f"{config}:3:13: broker.min_valid", "must be a duration"),
        (good.replace('client_id = "latchkey-test"', "client_id = 1979-05-27"), f"{config}:7:13: accounts.work.client_id",
         "dates are not a value Latchkey uses here"),
        ("[", f"{config}:1:2", "expected a key"),
        ("a = " + "[" * 100_000, f"{config}:1:", "nest deeper than 128 levels"),
        (good + '\n[broker]\nstore = "memory"\n', f"{config}:{end + 1}:1: broker", "defined twice"),
        ("\r\n".join(good.split("\n")) + "\rx = 1\r\n", f"{config}:{end}:", "carriage return"),
        (good + 'url = "x" = 1\n', f"{config}:{end}:11: accounts.work.url", "each key = value pair"),
    ]
    hostile.append((good.encode().replace(b'"latchkey-test"', b'"latchkey-\xe9"'), f"{config}:7:23", "not valid UTF-8"))
    for text, place, words in hostile:
        data = text if isinstance(text, bytes) else text.encode()
        logged = reload(latchkey, data, "configuration not reloaded")
        assert place in logged and words in logged, (text[:80], logged)
        assert latchkey.process.poll() is None
        assert accounts(latchkey) == ["work"]
        assert latchkey.run("token", "work").stdout.strip() == token
    # The last good configuration still reaches the provider: a refresh on request works (an
    # infinite provider_timeout, had it been taken, would trap here).
    refreshed = latchkey.run("token", "work", "--min-valid", "7200")
    assert refreshed.returncode == 0 and refreshed.stdout.strip() not in ("", token)

    # A file saved with Windows line endings and starting with a comment, or with a UTF-8 byte
    # order mark, is read as written (it used to read as empty: every account gone).
    second = latchkey.oauth_account("second", provider.url, provider.ca)
    crlf = ("# accounts\n" + good + second).replace("\n", "\r\n")
    reload(latchkey, crlf.encode(), "configuration reloaded")
    assert accounts(latchkey) == ["second", "work"]
    reload(latchkey, b"\xef\xbb\xbf" + good.encode(), "configuration reloaded")
    assert accounts(latchkey) == ["work"]
    assert latchkey.run("token", "work").returncode == 0
    assert latchkey.process.poll() is None
