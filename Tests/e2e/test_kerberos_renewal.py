"""Kerberos renewals by the scheduler, against the real MIT KDC (and a KDC that never answers):
a KDC that cannot be reached is no reason to ask for a sign-in; tickets shorter than the
renewal margin are not fetched again every few seconds; renewals stuck on a silent KDC do not
hold the scheduler or the daemon's shutdown one account after another."""

import json
import os
import re
import signal
import socket
import threading
import time

from support.latchkey import poll
from test_kerberos import ALICE, configure, realm  # noqa: F401  (realm is a fixture)


def dora_with_warnings(latchkey, realm, tmp_path):
    """dora (tickets for 1 hour, renewable for 5) in an encrypted file store that survives a
    restart, warned 6 hours ahead through a command that appends to the file it returns."""
    record = tmp_path / "notified.txt"
    key = tmp_path / "k.key"
    key.write_bytes(os.urandom(32))
    key.chmod(0o600)
    latchkey.extra_env = realm.env()
    latchkey.write_config(
        f'[broker]\nstore = "file"\nkey_file = "{key}"\nstore_file = "{tmp_path}/s.bin"\n'
        'signin_warning = "6h"\nnotify = "command"\n'
        f'notify_command = ["sh", "-c", "printf \'%s\\\\n\' \\"$0\\" >> {record}"]\n\n'
        f'[accounts.dora]\nmethod = "kerberos"\nprincipal = "dora@{realm.name}"\nurl = "{realm.url}"\n')
    return record


def notify_lines(record):
    return record.read_text().splitlines() if record.exists() else []


def test_an_unreachable_kdc_is_no_reason_to_ask_for_a_sign_in(latchkey, realm, tmp_path):  # noqa: F811
    # A 10-hour ticket that the scheduler wants renewed at once (min_valid beyond its life), and
    # a KDC that is down: the renewal fails, the ticket still works, nobody is told to sign in.
    realm.kinit(*ALICE)
    record = tmp_path / "notified.txt"
    configure(latchkey, realm, extra='min_valid = "36000s"')
    text = latchkey.config.read_text().replace(
        '[broker]\n', '[broker]\nnotify = "command"\n'
        f'notify_command = ["sh", "-c", "printf \'%s\\\\n\' \\"$0\\" >> {record}"]\n')
    latchkey.write_config(text)
    realm.do("kdc-stop")
    latchkey.start()
    assert poll(lambda: "could not renew the Kerberos ticket" in latchkey.log_text(), timeout=20), \
        latchkey.log_text()[-2000:]
    time.sleep(1)
    listed = json.loads(latchkey.run("status", "krb", "--json").stdout)
    assert listed["state"] == "valid", listed
    assert "KDC" in (listed.get("last_error") or ""), listed
    assert notify_lines(record) == [], notify_lines(record)
    assert "Kerberos sign-in needed" not in latchkey.log_text()
    # A header needs a service ticket from the KDC too: a client hears "try again later" (75),
    # not "sign in" (77); once the KDC is back, the same ticket serves again.
    done = latchkey.run("header", "krb", "--min-valid", "60")
    assert done.returncode == 75 and "Cannot reach the KDC" in done.stderr, done.stderr
    realm.do("kdc-start")
    done = latchkey.run("header", "krb", "--min-valid", "60")
    assert done.returncode == 0, done.stderr


def test_tickets_shorter_than_the_margin_are_not_fetched_again_every_few_seconds(latchkey, realm):  # noqa: F811
    # shorty's tickets last 2 minutes; min_valid 100 s makes the scheduler's margin 130 s, more
    # than any ticket the KDC gives. With the remembered password the daemon gets a new one when
    # the old one is about to end, not at every look.
    configure(latchkey, realm, name="shorty", principal="shorty",
              extra='min_valid = "100s"\nremember_password = true')
    latchkey.start()
    assert latchkey.run("login", "shorty", input="shorty-Kerberos-1\n").returncode == 0
    time.sleep(30)
    fetched = latchkey.log_text().count("acquired again with the remembered password")
    assert fetched <= 1, latchkey.log_text()[-3000:]


def test_renewals_stuck_on_a_silent_kdc_do_not_hold_the_shutdown_in_turn(latchkey, realm, tmp_path):  # noqa: F811
    # A KDC that takes every packet and answers none (a VPN that is down): each renewal waits
    # for libkrb5's timeouts. Four accounts due at once used to be renewed one after the other
    # by the scheduler, and the shutdown waited for each in turn.
    realm.kinit(*ALICE)
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", 0))
    port = udp.getsockname()[1]
    tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    tcp.bind(("127.0.0.1", port))
    tcp.listen(64)  # connections complete, and nothing is ever read or answered
    try:
        silent = tmp_path / "krb5-silent.conf"
        silent.write_text(re.sub(r"kdc = 127\.0\.0\.1:\d+", f"kdc = 127.0.0.1:{port}",
                                 open(realm.config).read()))
        accounts = "".join(
            f'[accounts.krb{i}]\nmethod = "kerberos"\nprincipal = "alice@{realm.name}"\nurl = "{realm.url}"\n'
            'min_valid = "36000s"\n\n' for i in range(4))
        latchkey.extra_env = {**realm.env(), "KRB5_CONFIG": str(silent)}
        latchkey.write_config('[broker]\nstore = "memory"\n\n' + accounts)
        latchkey.start()
        time.sleep(3)  # every renewal has started and waits on the KDC
        stopping = time.monotonic()
        latchkey.process.send_signal(signal.SIGTERM)
        latchkey.process.wait(timeout=150)
        took = time.monotonic() - stopping
        print(f"shutdown with four renewals stuck on a silent KDC: {took:.1f} s")
        # One renewal's timeouts at most (systemd's TimeoutStopSec is 90 s), not four in turn.
        assert took < 60, (took, latchkey.log_text()[-3000:])
        assert latchkey.process.returncode == 0, latchkey.log_text()[-3000:]
    finally:
        udp.close()
        tcp.close()


def test_a_renew_till_warning_goes_out_once_across_looks_and_a_restart(latchkey, realm, tmp_path):  # noqa: F811
    # dora's tickets are renewable for 5 hours: with a 6-hour warning the person is told at once.
    # The renew-till is worked out from whole seconds left at every look at the ticket, so it
    # moves by up to a second: that is still the deadline the person was told of.
    record = dora_with_warnings(latchkey, realm, tmp_path)
    latchkey.start()
    assert latchkey.run("login", "dora", input="dora-Kerberos-1\n").returncode == 0
    assert poll(record.exists, timeout=30)
    for _ in range(3):
        time.sleep(0.4)  # a new fraction of a second at each look
        assert latchkey.run("header", "dora").returncode == 0
    for _ in range(2):
        latchkey.restart(signal.SIGKILL)
        time.sleep(0.7)
        assert latchkey.run("header", "dora").returncode == 0
        time.sleep(3)  # the new scheduler's first pass is over
    lines = notify_lines(record)
    assert len(lines) == 1, lines
    listed = json.loads(latchkey.run("status", "dora", "--json").stdout)
    assert "renew-till" in listed["signin_reason"], listed


def test_a_kerberos_forecast_and_its_warning_survive_a_restart(latchkey, realm, tmp_path):  # noqa: F811
    # The password expiry comes from the KDC at sign-in only, and the warning goes out once: both
    # are kept in the store, so a restarted daemon (the ticket cache still there) forecasts the
    # same deadline and does not warn again.
    record = dora_with_warnings(latchkey, realm, tmp_path)
    latchkey.start()
    expires = int(time.time()) + 3 * 3600
    realm.do("pwexpire", "dora", time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(expires)))
    try:
        assert latchkey.run("login", "dora", input="dora-Kerberos-1\n").returncode == 0
        assert poll(record.exists, timeout=30)
        time.sleep(2)
        lines = record.read_text().splitlines()
        assert len(lines) == 1 and "sign in to 'dora' soon" in lines[0], lines
        latchkey.restart(signal.SIGKILL)
        time.sleep(5)  # the new scheduler has looked at the ticket and at the forecast
        listed = json.loads(latchkey.run("status", "dora", "--json").stdout)
        assert listed["signin_needed_by"] == expires, listed
        assert "password expires" in listed["signin_reason"], listed
        lines = record.read_text().splitlines()
        assert len(lines) == 1, lines
        # A sign-out takes the record with it (the ticket cache stays, as after any logout:
        # a restarted daemon sees its ticket, but no longer the password's expiry).
        assert latchkey.run("logout", "dora").returncode == 0
        latchkey.restart(signal.SIGKILL)
        time.sleep(3)
        listed = json.loads(latchkey.run("status", "dora", "--json").stdout)
        assert listed.get("signin_needed_by") != expires, listed
        assert "password" not in (listed.get("signin_reason") or ""), listed
    finally:
        realm.do("pwexpire", "dora", "never")


def test_a_logout_while_a_renewal_for_a_request_runs_stays_a_logout(latchkey, realm):  # noqa: F811
    # shorty's ticket cannot be renewed and no password is kept, so a request that needs more
    # than the ticket has left makes a renewal that fails. It is held (the debug-only pause
    # point `kerberos.renewal`) while the person signs out: its failure must not turn the
    # signed-out account into "sign-in required".
    realm.kinit("shorty", "shorty-Kerberos-1")
    configure(latchkey, realm, name="shorty", principal="shorty")
    folder = latchkey.root / "pause"
    folder.mkdir(exist_ok=True)
    latchkey.extra_env = {**latchkey.extra_env, "LATCHKEY_TEST_PAUSE_AT": "kerberos.renewal",
                          "LATCHKEY_TEST_PAUSE_DIR": str(folder)}
    latchkey.start()
    assert latchkey.run("header", "shorty").returncode == 0  # seen and valid
    result = {}
    thread = threading.Thread(
        target=lambda: result.update(done=latchkey.run("header", "shorty", "--min-valid", "600")))
    thread.start()
    assert poll(lambda: (folder / "kerberos.renewal.reached").exists(), timeout=30), latchkey.log_text()[-2000:]
    assert latchkey.run("logout", "shorty").returncode == 0
    (folder / "kerberos.renewal.go").touch()
    thread.join(60)
    done = result["done"]
    assert done.returncode == 77 and "signed out" in done.stderr, done.stderr
    listed = json.loads(latchkey.run("status", "shorty", "--json").stdout)
    assert listed["state"] == "signed_out", listed
