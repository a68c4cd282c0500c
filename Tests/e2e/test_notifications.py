"""The person hears about a needed sign-in, once: a desktop notification over D-Bus
(org.freedesktop.Notifications, observed by a listener on a private session bus) or a
configured notify_command."""

import threading
import time

import pytest

from conftest import require_env
from test_kerberos import realm, configure as configure_kerberos  # noqa: F401 (fixture)


class NotificationListener:
    """Owns org.freedesktop.Notifications on the test bus and records every Notify call."""

    def __init__(self, address):
        from jeepney.bus_messages import message_bus
        from jeepney.io.blocking import open_dbus_connection
        self.calls = []
        self.stop = threading.Event()
        self.conn = open_dbus_connection(bus=address)
        reply = self.conn.send_and_get_reply(message_bus.RequestName("org.freedesktop.Notifications", 4))
        assert reply.body[0] in (1, 4), f"could not own the name: {reply.body}"
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        from jeepney import MessageType, new_method_return
        while not self.stop.is_set():
            try:
                msg = self.conn.receive(timeout=0.3)
            except TimeoutError:
                continue
            if msg.header.message_type == MessageType.method_call and msg.header.fields.get(3) == "Notify":
                self.calls.append(msg.body)
                self.conn.send(new_method_return(msg, "u", (len(self.calls),)))

    def close(self):
        self.stop.set()
        self.thread.join(timeout=5)
        self.conn.close()


def test_revoked_session_notifies_the_desktop_once(latchkey, provider, person):
    bus, = require_env("LATCHKEY_TEST_DBUS_ADDRESS")
    listener = NotificationListener(bus)
    try:
        provider.configure(interval=1)
        latchkey.extra_env = {"DBUS_SESSION_BUS_ADDRESS": bus}
        latchkey.write_config('[broker]\nstore = "memory"\nnotify = "desktop"\n'
                              + latchkey.oauth_account("work", provider.url, provider.ca))
        latchkey.start()
        assert latchkey.login("work", person)[0] == 0
        provider.revoke_all_for_user("alice")  # an administrator ends the session
        for _ in range(3):
            done = latchkey.run("token", "work", "--min-valid", "7200")
            assert done.returncode == 77
            assert "latchkey login work" in done.stderr
        deadline = time.time() + 10
        while time.time() < deadline and not listener.calls:
            time.sleep(0.1)
        time.sleep(1)
        assert len(listener.calls) == 1
        app, _, _, summary, body, *_ = listener.calls[0]
        assert app == "Latchkey" and "sign in to 'work' again" in summary and "latchkey login work" in body
    finally:
        listener.close()


def test_a_ticket_that_cannot_be_renewed_runs_notify_command_once(latchkey, realm, tmp_path):  # noqa: F811
    realm.kinit("shorty", "shorty-Kerberos-1")  # 2 minutes, not renewable past that, no password kept
    record = tmp_path / "notified.txt"
    configure_kerberos(latchkey, realm, name="shorty", principal="shorty", extra='min_valid = "100s"')
    text = latchkey.config.read_text().replace(
        '[broker]\nstore = "memory"\n',
        '[broker]\nstore = "memory"\nnotify = "command"\n'
        f'notify_command = ["sh", "-c", "printf \'%s|%s\\\\n\' \\"$0\\" \\"$1\\" >> {record}"]\n')
    latchkey.write_config(text)
    latchkey.start()
    deadline = time.time() + 20
    while time.time() < deadline and not record.exists():
        time.sleep(0.2)
    time.sleep(2)
    lines = record.read_text().splitlines()
    assert len(lines) == 1
    assert "sign in to 'shorty' again" in lines[0] and "cannot be renewed" in lines[0]
    assert latchkey.run("status", "shorty", "--json").stdout.count('"state":"signin_required"') == 1


@pytest.mark.parametrize("error, codes", [("interaction_required", [50076]), ("invalid_grant", [65001])])
def test_refresh_errors_that_need_the_person_notify_once_through_notify_command(latchkey, provider, person, tmp_path,
                                                                              error, codes):
    """MFA demanded again (AADSTS50076, interaction_required) or consent missing (AADSTS65001)
    on a refresh: signin_required, exit 77 with the hint, and exactly one notify_command run."""
    record = tmp_path / "notified.txt"
    provider.configure(interval=1, microsoft=True)
    latchkey.write_config(
        '[broker]\nstore = "memory"\nnotify = "command"\n'
        f'notify_command = ["sh", "-c", "printf \'%s|%s\\\\n\' \\"$0\\" \\"$1\\" >> {record}"]\n\n'
        + latchkey.oauth_account("work", provider.url, provider.ca))
    latchkey.start()
    assert latchkey.login("work", person)[0] == 0
    provider.fault("token", "status", status=400, error=error, error_codes=codes, count=5)
    for _ in range(3):
        done = latchkey.run("token", "work", "--min-valid", "7200")
        assert done.returncode == 77, done.stderr
        assert "latchkey login work" in done.stderr
    status, _, body = latchkey.api("GET", "/v1/accounts/work")
    assert b'"signin_required"' in body
    deadline = time.time() + 10
    while time.time() < deadline and not record.exists():
        time.sleep(0.1)
    time.sleep(1)
    lines = record.read_text().splitlines()
    assert len(lines) == 1 and "sign in to 'work' again" in lines[0] and "latchkey login work" in lines[0]
    assert provider.counters()["token_refresh"] == 1, "a permanent failure is not retried"
