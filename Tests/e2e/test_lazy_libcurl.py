"""Issue 21: an idle daemon maps no libcurl until it calls a provider (docs/performance.md
"Idle memory"). libcurl and its ~18 libraries are loaded on the first transfer and then stay;
a daemon serving nothing but cached answers never maps them."""

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
