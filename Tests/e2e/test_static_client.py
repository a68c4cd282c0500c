"""The thin client as `make release` ships it: one fully static executable (Swift runtime and
libc linked in, no dynamic loader), so a sync tool's `latchkey token` pays no dynamic linking
(docs/performance.md). `make test` builds it (LATCHKEY_STATIC_BIN); the rest of the e2e suite
runs the debug build. Here it serves the cached path and the full command line alike.
"""

import os
import struct
import subprocess

from conftest import require_env
from test_client_outputs import signed_in
from test_latchkey_device_flow import assert_no_secrets


def program_headers(path):
    """The ELF64 program header types of `path`."""
    with open(path, "rb") as f:
        data = f.read(4096)
    assert data[:4] == b"\x7fELF" and data[4] == 2  # ELF64
    phoff, = struct.unpack_from("<Q", data, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", data, 0x36)
    with open(path, "rb") as f:
        f.seek(phoff)
        table = f.read(phentsize * phnum)
    return [struct.unpack_from("<I", table, i * phentsize)[0] for i in range(phnum)]


def run(static, latchkey, *args):
    done = subprocess.run([static, *args], capture_output=True, text=True, timeout=60, env=latchkey.env)
    latchkey.transcript.append(([static, *args], done.returncode, done.stdout, done.stderr))
    return done


def test_static_client_serves_tokens_and_the_full_command_line(latchkey, provider, person):
    static, = require_env("LATCHKEY_STATIC_BIN")
    static = os.path.join(static, "latchkey")
    PT_INTERP, PT_DYNAMIC = 3, 2
    headers = program_headers(static)
    assert PT_INTERP not in headers and PT_DYNAMIC not in headers  # no loader, no shared library

    access = signed_in(latchkey, provider, person)
    token = run(static, latchkey, "token", "work")  # the fast path: no argument parser
    assert token.returncode == 0, token.stderr
    assert token.stdout == access + "\n"
    header = run(static, latchkey, "header", "work")
    assert header.returncode == 0 and header.stdout == f"Authorization: Bearer {access}\n"
    status = run(static, latchkey, "status")  # the full command line
    assert status.returncode == 0 and "work" in status.stdout
    unknown = run(static, latchkey, "token", "nobody")
    assert unknown.returncode == 78 and "nobody" in unknown.stderr
    usage = run(static, latchkey, "token")
    assert usage.returncode == 64
    # An error answer is left to the full command line, which explains it.
    assert run(static, latchkey, "logout", "work").returncode == 0
    after = run(static, latchkey, "header", "work")
    assert after.returncode == 77 and after.stdout == "" and "latchkey login work" in after.stderr
    assert_no_secrets(latchkey, provider)
