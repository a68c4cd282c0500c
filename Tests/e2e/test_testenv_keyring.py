"""The Secret Service of the test environment (private D-Bus + gnome-keyring) works as the
other tests assume: store/lookup/clear, lock/unlock, daemon stopped/restarted.

Needs scripts/testenv/keyring.sh start and $LATCHKEY_TESTENV/env.sh sourced. Without the
exported variables these tests skip, or fail when LATCHKEY_INTEGRATION=1. Tests that lock
or stop something unlock or restart it, whatever happens.
"""
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
KEYRING_SH = REPO / "scripts" / "testenv" / "keyring.sh"
REQUIRED = ["LATCHKEY_TEST_DBUS_ADDRESS", "LATCHKEY_TEST_KEYRING_HOME"]


@pytest.fixture(scope="module")
def env():
    missing = [v for v in REQUIRED if not os.environ.get(v)]
    missing += [t for t in ("secret-tool",) if not shutil.which(t)]
    if missing:
        msg = f"test keyring not set up (missing: {', '.join(missing)}); " \
              "run scripts/testenv/keyring.sh start and source $LATCHKEY_TESTENV/env.sh"
        if os.environ.get("LATCHKEY_INTEGRATION") == "1":
            pytest.fail(msg, pytrace=False)
        pytest.skip(msg)
    e = dict(os.environ)
    e.setdefault("LATCHKEY_TESTENV", str(Path(e["LATCHKEY_TEST_KEYRING_HOME"]).parent))
    # keyring.sh's D-Bus helper needs jeepney; this interpreter has it (Tests/Support/requirements.txt).
    e.setdefault("LATCHKEY_TESTENV_PYTHON", sys.executable)
    return e


@pytest.fixture
def senv(env):
    """Environment for Secret Service clients: the test bus, no display."""
    e = dict(env)
    e["DBUS_SESSION_BUS_ADDRESS"] = env["LATCHKEY_TEST_DBUS_ADDRESS"]
    for var in ("DISPLAY", "WAYLAND_DISPLAY"):
        e.pop(var, None)
    return e


@pytest.fixture
def attrs():
    """Attributes unique to this test, so that parallel runs never see each other's items."""
    return ["latchkey-testenv", "yes", "case", uuid.uuid4().hex]


def keyring(env, command):
    p = subprocess.run(["bash", str(KEYRING_SH), command], env=env, capture_output=True,
                       text=True, timeout=60)
    assert p.returncode == 0, f"keyring.sh {command} failed:\n{p.stderr}"
    return p.stdout.strip()


def secret_tool(senv, *args, stdin=None):
    return subprocess.run(["secret-tool", *args], env=senv, input=stdin, capture_output=True,
                          text=True, timeout=30)


def store(senv, attrs, secret):
    return secret_tool(senv, "store", "--label=latchkey testenv", *attrs, stdin=secret)


def lookup(senv, attrs):
    return secret_tool(senv, "lookup", *attrs)


def test_store_lookup_clear(env, senv, attrs):
    assert keyring(env, "status") == "unlocked"
    p = store(senv, attrs, "s3cret-value")   # no newline: secret-tool stores stdin as is
    assert p.returncode == 0, p.stderr
    p = lookup(senv, attrs)
    assert p.returncode == 0 and p.stdout == "s3cret-value", (p.stdout, p.stderr)
    p = secret_tool(senv, "clear", *attrs)
    assert p.returncode == 0, p.stderr
    p = lookup(senv, attrs)
    assert p.returncode != 0 and p.stdout == ""
    # The item went into the login keyring on disk (the default collection).
    keyrings = Path(env["LATCHKEY_TEST_KEYRING_HOME"]) / ".local" / "share" / "keyrings"
    assert (keyrings / "login.keyring").is_file()


def test_lock_and_unlock(env, senv, attrs):
    assert store(senv, attrs, "kept").returncode == 0
    try:
        keyring(env, "lock")
        try:
            assert keyring(env, "status") == "locked"
            # A locked collection looks like "not found": no output, no error text.
            p = lookup(senv, attrs)
            assert p.returncode != 0 and p.stdout == "", (p.stdout, p.stderr)
            p = store(senv, attrs + ["more", "1"], "x")
            assert p.returncode != 0
            assert "locked" in p.stderr, p.stderr
        finally:
            keyring(env, "unlock")
        assert keyring(env, "status") == "unlocked"
        p = lookup(senv, attrs)
        assert p.returncode == 0 and p.stdout == "kept", (p.stdout, p.stderr)
    finally:
        secret_tool(senv, "clear", *attrs)


def test_stop_and_start_keyring(env, senv, attrs):
    assert store(senv, attrs, "survives").returncode == 0
    try:
        keyring(env, "stop-keyring")
        try:
            p = lookup(senv, attrs)
            assert p.returncode != 0
            assert "org.freedesktop.secrets" in p.stderr, p.stderr
            p = store(senv, attrs, "x")
            assert p.returncode != 0
            assert "org.freedesktop.secrets" in p.stderr, p.stderr
        finally:
            keyring(env, "start-keyring")
        assert keyring(env, "status") == "unlocked"
        p = lookup(senv, attrs)
        assert p.returncode == 0 and p.stdout == "survives", (p.stdout, p.stderr)
    finally:
        secret_tool(senv, "clear", *attrs)


def test_start_is_idempotent(env, senv):
    pidfile = Path(env["LATCHKEY_TEST_KEYRING_HOME"]) / "gnome-keyring-daemon.pid"
    before = pidfile.read_text()
    keyring(env, "start")
    assert pidfile.read_text() == before
    assert keyring(env, "status") == "unlocked"
