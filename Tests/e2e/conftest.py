"""Shared fixtures for Latchkey's end-to-end tests.

The test environment (scripts/testenv/*.sh) exports what the tests need into
$LATCHKEY_TESTENV/env.sh; source it before running pytest. A test whose environment is
missing is skipped, unless LATCHKEY_INTEGRATION=1, in which case it fails.
"""

import os

import pytest

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
