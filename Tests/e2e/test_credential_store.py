"""Issue 3 end to end: credentials kept in the Secret Service (a real gnome-keyring on a
private D-Bus session bus) or in the AES-256-GCM file store, so that a restart of the daemon
needs no new sign-in; and an honest account of what happens when the store cannot be used.
"""

import json
import os
import signal
import subprocess
import time

import pytest

from conftest import require_env
from test_latchkey_device_flow import assert_no_secrets


@pytest.fixture
def keyring():
    """Controls the test keyring (scripts/testenv/keyring.sh); leaves it unlocked and running."""
    bus, = require_env("LATCHKEY_TEST_DBUS_ADDRESS")
    script = os.path.join(os.path.dirname(__file__), "..", "..", "scripts", "testenv", "keyring.sh")

    class Keyring:
        address = bus

        def do(self, action):
            subprocess.run(["bash", script, action], check=True, capture_output=True, timeout=60)

        def search(self):
            """secret-tool's view of every Latchkey item: (label and attribute lines, secrets)."""
            done = subprocess.run(["secret-tool", "search", "--all", "--unlock", "xdg:schema", "org.latchkey.Credential"],
                                  capture_output=True, text=True, env={**os.environ, "DBUS_SESSION_BUS_ADDRESS": bus},
                                  timeout=30)
            lines = (done.stdout + done.stderr).splitlines()
            described = [line for line in lines if line.startswith(("label", "attribute"))]
            secrets = [line.split(" = ", 1)[1] for line in lines if line.startswith("secret = ")]
            return described, secrets

        def clear(self):
            for kind in ("refresh_token", "access_token", "password"):
                subprocess.run(["secret-tool", "clear", "xdg:schema", "org.latchkey.Credential", "account", "work",
                                "kind", kind], env={**os.environ, "DBUS_SESSION_BUS_ADDRESS": bus}, timeout=30)

    k = Keyring()
    k.do("start-keyring")
    k.do("unlock")
    k.clear()
    yield k
    k.do("start-keyring")
    k.do("unlock")
    k.clear()


def configure(latchkey, provider, store, extra_broker=""):
    latchkey.write_config(f'[broker]\nstore = "{store}"\n{extra_broker}\n'
                          + latchkey.oauth_account("work", provider.url, provider.ca))


def sign_in_with_keyring(latchkey, provider, person, keyring, **settings):
    """A daemon on the test keyring (store = "secret-service"), signed in as alice."""
    provider.configure(**settings)
    latchkey.extra_env = {"DBUS_SESSION_BUS_ADDRESS": keyring.address}
    configure(latchkey, provider, "secret-service")
    latchkey.start()
    assert latchkey.login("work", person)[0] == 0


def status(latchkey):
    done = latchkey.run("status", "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def token(latchkey, *args):
    return latchkey.run("token", "work", *args)


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGKILL])
def test_restart_needs_no_new_sign_in(latchkey, provider, person, keyring, stop_signal):
    sign_in_with_keyring(latchkey, provider, person, keyring, interval=1)
    first = token(latchkey).stdout.strip()
    assert status(latchkey)["store"] == "secret-service"

    latchkey.restart(stop_signal)
    again = token(latchkey)
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip() == first  # the access token itself came back from the keyring
    assert provider.resource(first).status_code == 200
    counters = provider.counters()
    assert counters["device_authorization"] == 1 and counters["token_refresh"] == 0
    account = status(latchkey)["accounts"][0]
    assert account["state"] == "valid" and account["persisted"] is True
    assert_no_secrets(latchkey, provider)


def test_refresh_after_restart_uses_the_rotated_token(latchkey, provider, person, keyring):
    sign_in_with_keyring(latchkey, provider, person, keyring, interval=1, access_token_lifetime=20)
    assert token(latchkey, "--min-valid", "30").returncode == 0  # refresh 1: rotates
    latchkey.restart(signal.SIGKILL)
    second = token(latchkey, "--min-valid", "30")                 # refresh 2, after the restart
    assert second.returncode == 0, second.stderr
    counters = provider.counters()
    assert counters["token_refresh"] == 2 and counters["token_refresh_ok"] == 2
    assert counters["last_refresh_token_reused"] is False
    assert provider.resource(second.stdout.strip()).status_code == 200
    assert_no_secrets(latchkey, provider)


def test_items_are_labelled_carry_no_secret_and_go_with_logout(latchkey, provider, person, keyring):
    sign_in_with_keyring(latchkey, provider, person, keyring, interval=1)
    described, secrets = keyring.search()
    assert "label = Latchkey: work — refresh token" in described
    assert "label = Latchkey: work — access token" in described
    assert "attribute.account = work" in described and "attribute.kind = refresh_token" in described
    issued = provider.issued()
    assert issued["refresh_tokens"][0] in secrets
    for line in described:
        for secret in issued["access_tokens"] + issued["refresh_tokens"]:
            assert secret not in line
    logout = latchkey.run("logout", "work")
    assert logout.returncode == 0, logout.stderr
    assert keyring.search() == ([], [])
    assert token(latchkey).returncode == 77


def test_locked_keyring_keeps_serving_and_loses_nothing(latchkey, provider, person, keyring):
    sign_in_with_keyring(latchkey, provider, person, keyring, interval=1)
    first = token(latchkey).stdout.strip()

    keyring.do("lock")
    assert token(latchkey).stdout.strip() == first  # still served from memory
    latchkey.restart()
    locked = token(latchkey)
    assert locked.returncode == 77
    assert "keyring 'login' is locked" in locked.stderr.lower() and "unlock it" in locked.stderr
    assert "no new sign-in is needed" in locked.stderr

    keyring.do("unlock")
    back = token(latchkey)
    assert back.returncode == 0, back.stderr
    assert back.stdout.strip() == first
    assert provider.counters()["device_authorization"] == 1


def test_a_failed_store_write_is_kept_in_memory_and_retried(latchkey, provider, person, keyring):
    sign_in_with_keyring(latchkey, provider, person, keyring, interval=1, access_token_lifetime=20)
    keyring.do("lock")
    rotated = token(latchkey, "--min-valid", "30")  # a refresh whose rotated token cannot be stored
    assert rotated.returncode == 0, rotated.stderr
    assert status(latchkey)["accounts"][0]["persisted"] is False
    assert "could not store a credential; keeping it in memory" in latchkey.log_text()
    assert "not persisted" in latchkey.run("status").stdout

    keyring.do("unlock")
    deadline = time.time() + 20
    while time.time() < deadline and not status(latchkey)["accounts"][0]["persisted"]:
        token(latchkey)  # requests drive the retry (at most every 5 s)
        time.sleep(0.5)
    assert status(latchkey)["accounts"][0]["persisted"] is True
    latchkey.restart(signal.SIGKILL)
    after = token(latchkey, "--min-valid", "30")  # refresh with the rotated token from the keyring
    assert after.returncode == 0, after.stderr
    assert provider.counters()["last_refresh_token_reused"] is False


def test_stopped_keyring_daemon(latchkey, provider, person, keyring):
    sign_in_with_keyring(latchkey, provider, person, keyring, interval=1)
    first = token(latchkey).stdout.strip()
    keyring.do("stop-keyring")
    assert token(latchkey).stdout.strip() == first  # memory keeps serving
    latchkey.restart()
    gone = token(latchkey)
    assert gone.returncode == 75
    assert "No Secret Service is running on the session bus" in gone.stderr
    assert "org.freedesktop.secrets" in gone.stderr  # libsecret's own words are kept
    keyring.do("start-keyring")
    back = token(latchkey)
    assert back.returncode == 0, back.stderr
    assert back.stdout.strip() == first


@pytest.mark.parametrize("address, words", [
    (None, "There is no D-Bus session bus"),
    ("unix:path=/nonexistent/latchkey-test-bus", "The D-Bus session bus cannot be reached"),
])
def test_no_session_bus(latchkey, provider, address, words):
    latchkey.extra_env = {"DBUS_SESSION_BUS_ADDRESS": address} if address else {}
    configure(latchkey, provider, "secret-service")
    latchkey.start()
    done = token(latchkey)
    assert done.returncode == 78
    assert words in done.stderr and 'store = "file"' in done.stderr


def test_auto_uses_the_keyring_or_falls_back_to_memory_with_a_warning(latchkey, provider, keyring):
    latchkey.extra_env = {"DBUS_SESSION_BUS_ADDRESS": keyring.address}
    configure(latchkey, provider, "auto")
    latchkey.start()
    assert status(latchkey)["store"] == "secret-service"
    latchkey.stop()
    keyring.do("stop-keyring")
    latchkey.start()
    answer = status(latchkey)
    assert answer["store"] == "memory"
    assert "Secret Service cannot be used" in answer["store_warning"]
    assert "No Secret Service is running" in answer["store_warning"]
    assert "store fallback: memory" in latchkey.log_text()
    assert "warning:" in latchkey.run("status").stdout


def make_key(path, mode=0o600):
    with open(path, "wb") as f:
        f.write(os.urandom(32))
    os.chmod(path, mode)


def test_file_store_round_trip_tamper_and_wrong_key(latchkey, provider, person, tmp_path):
    provider.configure(interval=1)
    key = tmp_path / "latchkey.key"
    make_key(key)
    store_file = tmp_path / "data" / "store.bin"
    configure(latchkey, provider, "file", f'key_file = "{key}"\nstore_file = "{store_file}"')
    latchkey.start()
    assert latchkey.login("work", person)[0] == 0
    first = token(latchkey).stdout.strip()
    latchkey.restart(signal.SIGKILL)
    assert token(latchkey).stdout.strip() == first
    assert provider.counters()["device_authorization"] == 1

    raw = store_file.read_bytes()
    assert oct(store_file.stat().st_mode & 0o777) == oct(0o600)
    issued = provider.issued()
    for secret in issued["access_tokens"] + issued["refresh_tokens"]:
        assert secret.encode() not in raw  # never in clear

    latchkey.stop()
    tampered = bytearray(raw)
    tampered[len(tampered) // 2] ^= 0x01
    store_file.write_bytes(bytes(tampered))
    latchkey.start()
    broken = token(latchkey)
    assert broken.returncode == 78
    assert "integrity check" in broken.stderr
    assert store_file.read_bytes() == bytes(tampered)  # never silently discarded

    latchkey.stop()
    store_file.write_bytes(raw)
    make_key(key)  # a different key
    latchkey.start()
    wrong = token(latchkey)
    assert wrong.returncode == 78 and "integrity check" in wrong.stderr
    assert_no_secrets(latchkey, provider)


def test_file_store_without_a_key_refuses_to_start(latchkey, provider, tmp_path):
    configure(latchkey, provider, "file", f'key_file = "{tmp_path}/missing.key"')
    done = subprocess.run([str(latchkey.bin / "latchkeyd"), "serve"], capture_output=True, text=True,
                          env=latchkey.env, timeout=30)
    assert done.returncode == 78
    assert "missing.key" in done.stderr


def test_logout_during_a_refresh_stays_a_logout(latchkey, provider, person, tmp_path):
    """A refresh that is waiting on the provider when the person signs out stores nothing when
    it finishes: after a restart nothing comes back."""
    provider.configure(interval=1)
    key = tmp_path / "k.key"
    make_key(key)
    configure(latchkey, provider, "file", f'key_file = "{key}"\nstore_file = "{tmp_path}/s.bin"')
    latchkey.start()
    assert latchkey.login("work", person)[0] == 0
    provider.fault("token", "hang", seconds=3, count=1)  # the refresh waits 3 s, then succeeds
    waiting = subprocess.Popen([str(latchkey.bin / "latchkey"), "token", "work", "--min-valid", "7200"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=latchkey.env)
    time.sleep(1)
    assert latchkey.run("logout", "work").returncode == 0
    out, err = waiting.communicate(timeout=30)
    assert waiting.returncode == 77 and "signed out" in err
    time.sleep(0.5)
    assert status(latchkey)["accounts"][0]["state"] == "signed_out"
    latchkey.restart(signal.SIGKILL)
    assert token(latchkey).returncode == 77  # nothing was stored again
