"""Shared fixtures for Latchkey's end-to-end tests.

The test environment (scripts/testenv/*.sh) exports what the tests need into
$LATCHKEY_TESTENV/env.sh; source it before running pytest. A test whose environment is
missing is skipped, unless LATCHKEY_INTEGRATION=1, in which case it fails.

Run with pytest-xdist (`-n 2`, as scripts/test.sh does), each worker takes its own test
environment from LATCHKEY_TESTENV_FILES (one env.sh per worker, space-separated): the provider's
settings, faults and counters, the keyring and the KDC are then never shared by two tests at once.
"""

import os
import re
import signal
import subprocess

import pytest


def _load_worker_environment():
    """Under xdist, replace this worker's test environment variables with those of its own
    env.sh (worker gwN takes file N of LATCHKEY_TESTENV_FILES)."""
    files = os.environ.get("LATCHKEY_TESTENV_FILES", "").split()
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if not files or not re.fullmatch(r"gw[0-9]+", worker):
        return
    path = files[int(worker[2:]) % len(files)]
    with open(path) as f:
        names = re.findall(r"^export ([A-Za-z_][A-Za-z0-9_]*)=", f.read(), re.M)
    script = 'set -a; source "$1"; for n in "${@:2}"; do printf "%s=%s\\0" "$n" "${!n}"; done'
    out = subprocess.run(["bash", "-c", script, "_", path, *names], capture_output=True, check=True).stdout
    for item in out.split(b"\0"):
        if item:
            name, _, value = item.decode().partition("=")
            os.environ[name] = value


_load_worker_environment()

from support.provider import Person, Provider


def require_env(*names):
    """The values of these environment variables; skip (or, under LATCHKEY_INTEGRATION=1,
    fail) the test when any is missing."""
    missing = [name for name in names if not os.environ.get(name)]
    if missing:
        text = (f"{', '.join(missing)} not set: start the test environment "
                "(scripts/testenv) and source $LATCHKEY_TESTENV/env.sh")
        if os.environ.get("LATCHKEY_INTEGRATION") == "1":
            pytest.fail(text, pytrace=False)
        pytest.skip(text)
    return [os.environ[name] for name in names]


@pytest.fixture(scope="session")
def provider_env():
    """(url, ca) of the running test provider."""
    url, ca = require_env("LATCHKEY_TEST_PROVIDER_URL", "LATCHKEY_TEST_CA")
    return url, ca


@pytest.fixture
def provider(provider_env):
    """The test provider's client, reset (counters, tokens, faults, settings) for this test."""
    client = Provider(*provider_env)
    client.reset()
    return client


@pytest.fixture
def person(provider):
    """alice, at a browser, with her password and authenticator app."""
    return Person(provider.url, provider.ca, username="alice")


@pytest.fixture(scope="session")
def bin_dir():
    """Where the built `latchkey` and `latchkeyd` are (LATCHKEY_BIN, else .build/debug)."""
    path = os.environ.get("LATCHKEY_BIN") or os.path.join(os.path.dirname(__file__), "..", "..", ".build", "debug")
    if not os.path.exists(os.path.join(path, "latchkeyd")):
        text = f"latchkeyd is not built in {path}: run `swift build`"
        if os.environ.get("LATCHKEY_INTEGRATION") == "1":
            pytest.fail(text, pytrace=False)
        pytest.skip(text)
    return path


@pytest.fixture
def latchkey(tmp_path, bin_dir):
    """A Latchkey daemon of this test's own (not started: write its config, then start())."""
    from support.latchkey import Latchkey
    instance = Latchkey(tmp_path, bin_dir)
    yield instance
    instance.stop()


# ----------------------------------------------------------------- real clients, counted
#
# A test that runs a real mail or git client carries @pytest.mark.real_client("name"); the
# summary line counts them, with the recipes README.md marks "not tested" (support/recipes.py).

_real_clients = {}  # client name -> "passed" or "failed"
_refreshes = {}  # client name -> provider refreshes across an expiry (from every worker's reports)


def pytest_configure(config):
    # A shell running pytest in the background without job control (`cmd &` in a script) starts
    # it with SIGINT ignored, and every process it starts inherits that: the Ctrl-C tests would
    # then time out. Python's own handler is not inherited across exec (the children get the
    # default action), so the tests see what a person at a terminal sees.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    config.addinivalue_line("markers", "real_client(name): the test runs this real client's README recipe")


def pytest_runtest_logreport(report):
    _refreshes.update(getattr(report, "mail_refreshes", {}))
    marks = getattr(report, "real_clients", ())
    if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
        for name in marks:
            if report.outcome == "passed":
                _real_clients.setdefault(name, "passed")
            else:
                _real_clients[name] = "failed"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    names = [mark.args[0] for mark in item.iter_markers("real_client") if mark.args]
    outcome.get_result().real_clients = names
    if names:
        # Reports travel from an xdist worker to the controller with their attributes.
        from support.mailenv import REFRESHES
        outcome.get_result().mail_refreshes = dict(REFRESHES)


def pytest_terminal_summary(terminalreporter):
    if not _real_clients:
        return
    from support.recipes import not_tested
    passed = sorted(n for n, s in _real_clients.items() if s == "passed")
    failed = sorted(n for n, s in _real_clients.items() if s == "failed")
    skipped = not_tested()
    terminalreporter.write_line(
        f"real clients: {len(passed) + len(failed)} run ({len(passed)} passed: {', '.join(passed)}"
        + (f"; {len(failed)} failed: {', '.join(failed)}" if failed else "")
        + f"); recipes not tested: {len(skipped)}")
    if _refreshes:
        terminalreporter.write_line("provider refreshes across a token expiry: "
                                    + ", ".join(f"{n} {c}" for n, c in sorted(_refreshes.items())))
