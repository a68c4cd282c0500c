"""Issue 21: an idle daemon maps no libcurl until it calls a provider (docs/performance.md
"Idle memory"). libcurl and its ~18 libraries are loaded on the first transfer and then stay;
a daemon serving nothing but cached answers never maps them."""

import os
import subprocess

from test_latchkey_device_flow import start_with_account


def mapped(pid, name):
    with open(f"/proc/{pid}/maps") as maps:
        return any(name in line for line in maps)


def test_libcurl_is_mapped_only_once_a_provider_is_called(latchkey, provider, person):
    provider.configure(interval=1)
    start_with_account(latchkey, provider)
    pid = latchkey.process.pid
    status = latchkey.run("status")
    assert status.returncode == 0, status.stderr
    assert not mapped(pid, "libcurl.so"), "the daemon mapped libcurl before any provider call"
    assert not mapped(pid, "libgnutls.so") and not mapped(pid, "libssh2.so")

    rc, _, err, _ = latchkey.login("work", person)
    assert rc == 0, err
    assert mapped(pid, "libcurl.so"), "the sign-in called the provider without libcurl?"
    token = latchkey.run("token", "work")
    assert token.returncode == 0 and provider.resource(token.stdout.strip()).status_code == 200


def test_the_daemon_links_no_foundation_argument_parser_regex_or_async_algorithms(bin_dir):
    """The daemon reads its command line by hand, searches strings with LatchkeyCore's
    Occurrence.swift and runs its services with LatchkeyServer's ServiceGroup:
    swift-argument-parser would link FoundationEssentials (2.6 MB of code), one `contains("…")`
    of _StringProcessing links it and _RegexParser (0.9 MB), swift-service-lifecycle links
    swift-async-algorithms (1.3 MB). No symbol of those modules, defined or used, is in the
    executable (debug or release build)."""
    daemon = os.path.join(bin_dir, "latchkeyd")
    symbols = subprocess.run(["nm", "--", daemon], capture_output=True, text=True, check=True).stdout
    modules = ("20FoundationEssentials", "22_FoundationCollections", "14ArgumentParser", "17_StringProcessing",
               "12_RegexParser", "15AsyncAlgorithms", "16ServiceLifecycle")
    found = sorted({module for line in symbols.splitlines() for module in modules if module in line})
    assert found == [], f"latchkeyd links {found}"
