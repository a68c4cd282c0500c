"""`latchkey git-credential` with the real git against the test git server (scripts/testenv/
git.sh): plain http is allowed to loopback only, IPv6 loopback (`[::1]:PORT`) like 127.0.0.1,
and an account that names no git host says so instead of leaving git to ask for a user name.
"""

import subprocess

import pytest

from conftest import require_env
from test_latchkey_device_flow import assert_no_secrets

EMAIL = "alice@contoso.example"
HELPER = "!latchkey git-credential"


@pytest.fixture
def git_server():
    http_port, https, repo, v6 = require_env("LATCHKEY_TEST_GIT_HTTP_PORT", "LATCHKEY_TEST_GIT_HTTPS",
                                             "LATCHKEY_TEST_GIT_REPO", "LATCHKEY_TEST_GIT_V6")
    return {"http_port": int(http_port), "https": https, "repo": repo, "v6": v6 == "yes"}


def git(latchkey, *args):
    """The real git with only Latchkey as its credential helper (the README's spelling),
    latchkey on PATH, no prompting."""
    env = {**latchkey.env, "PATH": f"{latchkey.bin}:/usr/bin:/bin", "GIT_TERMINAL_PROMPT": "0",
           "GIT_CONFIG_NOSYSTEM": "1", "GIT_SSL_CAINFO": latchkey.ca, "GIT_ASKPASS": "", "SSH_ASKPASS": ""}
    argv = ["git", "-c", "credential.helper=", "-c", f"credential.helper={HELPER}", *args]
    done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=60, cwd=latchkey.root)
    latchkey.transcript.append((argv, done.returncode, done.stdout, done.stderr))
    return done


def signed_in(latchkey, provider, person, extra):
    latchkey.ca = provider.ca
    latchkey.write_config('[broker]\nstore = "memory"\n'
                          + latchkey.oauth_account("work", provider.url, provider.ca, extra=extra))
    latchkey.start()
    provider.configure(interval=1)
    rc, _, err, _ = latchkey.login("work", person)
    assert rc == 0, err


def test_plain_http_to_ipv6_loopback_is_served_like_127_0_0_1(latchkey, provider, person, git_server):
    signed_in(latchkey, provider, person, f'email = "{EMAIL}"\ngit_hosts = ["127.0.0.1", "[::1]"]')
    port, repo = git_server["http_port"], git_server["repo"]

    # What git sends for http://[::1]:PORT/: the helper answers as for 127.0.0.1.
    for host in ("127.0.0.1", "[::1]"):
        done = latchkey.run("git-credential", "get", input=f"protocol=http\nhost={host}:{port}\n\n")
        assert done.returncode == 0, done.stderr
        assert f"username={EMAIL}" in done.stdout.splitlines(), (host, done.stdout, done.stderr)

    hosts = ["127.0.0.1"] + (["[::1]"] if git_server["v6"] else [])
    for host in hosts:
        done = git(latchkey, "ls-remote", f"http://{host}:{port}{repo}", "HEAD")
        assert done.returncode == 0, f"git over http://{host}: {done.stderr}"
        assert done.stdout.strip().endswith("HEAD")

    # All of 127.0.0.0/8 is loopback (SECURITY.md), written exactly as a dotted quad.
    done = latchkey.run("git-credential", "--account", "work", "get", input="protocol=http\nhost=127.8.9.10:8080\n\n")
    assert done.returncode == 0 and f"username={EMAIL}" in done.stdout.splitlines(), done.stderr

    # Not loopback: no token over plain http, and git is told why.
    for host in ("[::2]:8080", "[::1x]:8080", "127.0.0.1.example.com", "127.\u0663.0.1", "127.0.0.256", "127.0.1"):
        done = latchkey.run("git-credential", "--account", "work", "get", input=f"protocol=http\nhost={host}\n\n")
        assert done.returncode == 0 and done.stdout == "", host
        assert "use https" in done.stderr, (host, done.stderr)
    assert_no_secrets(latchkey, provider)


def test_an_account_without_git_hosts_says_so(latchkey, provider, person, git_server):
    signed_in(latchkey, provider, person, f'email = "{EMAIL}"')
    url = git_server["https"] + git_server["repo"]
    host = url.split("//", 1)[1].split("/", 1)[0]

    done = git(latchkey, "ls-remote", url, "HEAD")
    assert done.returncode != 0
    # git shows the helper's standard error: the person learns what to set, not only
    # git's "could not read Username".
    assert f"no account names the git host {host}" in done.stderr, done.stderr
    assert 'git_hosts = ["' in done.stderr, done.stderr

    # Once an account names the host, the same command works.
    latchkey.stop()
    latchkey.write_config('[broker]\nstore = "memory"\n' + latchkey.oauth_account(
        "work", provider.url, provider.ca, extra=f'email = "{EMAIL}"\ngit_hosts = ["{host}"]'))
    latchkey.start()
    rc, _, err, _ = latchkey.login("work", person)
    assert rc == 0, err
    done = git(latchkey, "ls-remote", url, "HEAD")
    assert done.returncode == 0, done.stderr
    assert_no_secrets(latchkey, provider)
