"""Issue 15, attack 2: a browser sign-in never shows its `state` (or PKCE challenge) to another
user. The browser is sent to a start page on the loopback listener, which redirects to the
provider once; the listener refuses connections of other users and serves each connection on
its own, so a slow one holds nothing up.

The opener is a stand-in `xdg-open` on PATH that stays running (its argv visible in /proc)
until the test ends it; the second local user reads /proc/*/cmdline as any user can."""

import json
import os
import re
import socket
import subprocess
import time
from urllib.parse import parse_qs, urlsplit

import requests

from support.provider import jwt_claims
from support.second_user import second_user  # noqa: F401 (fixture)
from test_browser_flow import configure

# Run by the second user: every argument of every process that names the listener's port.
SCAN = r'''
import json, os, sys
port = sys.argv[1]
found = []
for pid in os.listdir("/proc"):
    if not pid.isdigit() or int(pid) == os.getpid():
        continue
    try:
        argv = open(f"/proc/{pid}/cmdline", "rb").read().split(b"\0")
    except OSError:
        continue
    for arg in argv:
        text = arg.decode(errors="replace")
        if f"127.0.0.1:{port}" in text or f"127.0.0.1%3A{port}" in text:
            found.append(text)
print(json.dumps(found))
'''

# Run by the second user: asks for the start page it read in argv, and opens more connections
# that never finish their request; when stdin closes, says what each connection received.
HOLD = r'''
import json, socket, sys
port, path, count = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
conns = []
for i in range(count):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode() if i == 0 else b"GET /")
    conns.append(s)
print("holding", flush=True)
sys.stdin.read()
seen = []
for s in conns:
    s.setblocking(False)
    try:
        data = s.recv(4096)
        seen.append(data.decode(errors="replace").split("\r\n")[0] if data else "closed")
    except BlockingIOError:
        seen.append("nothing yet")
    except OSError as e:
        seen.append("closed: " + type(e).__name__)
print(json.dumps(seen), flush=True)
'''


class Opener:
    """A stand-in `xdg-open`: records the URL it was given and stays running until stopped."""

    def __init__(self, tmp_path, latchkey):
        self.bin = tmp_path / "bin"
        self.bin.mkdir()
        self.record = tmp_path / "opened.txt"
        self.stop_file = tmp_path / "stop-opener"
        script = self.bin / "xdg-open"
        script.write_text(f"#!/bin/sh\nprintf '%s\\n' \"$1\" > {self.record}.tmp && mv {self.record}.tmp {self.record}\n"
                          f"while [ ! -e {self.stop_file} ]; do sleep 0.1; done\n")
        script.chmod(0o755)
        latchkey.extra_env = {"PATH": f"{self.bin}:{os.environ['PATH']}", "DISPLAY": ":99"}

    def opened_url(self):
        deadline = time.time() + 30
        while time.time() < deadline and not self.record.exists():
            time.sleep(0.1)
        assert self.record.exists(), "latchkey login opened no browser"
        return self.record.read_text().strip()

    def stop(self):
        self.stop_file.touch()


def start_browser_login(latchkey, tmp_path, provider):
    opener = Opener(tmp_path, latchkey)
    configure(latchkey, provider)
    argv = [str(latchkey.bin / "latchkey"), "login", "work", "--method", "browser"]
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=latchkey.env)
    url = opener.opened_url()
    # The listener's port (from the redirect_uri, should the opener ever get a provider's URL).
    port = str(urlsplit(parse_qs(urlsplit(url).query).get("redirect_uri", [url])[0]).port)
    return opener, process, url, port


def follow_as_the_person(person, url):
    """The person's browser: the start page's redirect, the provider's sign-in, the redirect back."""
    start = requests.get(url, allow_redirects=False, timeout=30)
    assert start.status_code in (302, 303), start.text
    location = person.browser_login(start.headers["Location"])
    return requests.get(location, timeout=30)


def finish(latchkey, process, opener):
    opener.stop()
    out, err = process.communicate(timeout=60)
    latchkey.transcript.append((["latchkey", "login"], process.returncode, out, err))
    return process.returncode, err


def test_another_user_finds_no_state_in_the_openers_argv(latchkey, provider, person, tmp_path, second_user):  # noqa: F811
    opener, process, url, port = start_browser_login(latchkey, tmp_path, provider)
    try:
        scan = second_user.run(["/usr/bin/python3", "-c", "import os; exec(os.environ['LK_SCRIPT'])", port],
                               env={"LK_SCRIPT": SCAN, "PATH": "/usr/bin:/bin"}, capture_output=True, text=True, timeout=30)
        found = json.loads(scan.stdout)
        assert url in found, f"the scan must see the opener's argv: {scan.stderr}"
        for text in found:
            query = parse_qs(urlsplit(text).query)
            assert "state" not in query and "code_challenge" not in query, f"another user read {text}"
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/start/[A-Za-z0-9_-]{20,}", url)
        # The person's browser still signs in, through the start page.
        assert follow_as_the_person(person, url).status_code == 200
        code, err = finish(latchkey, process, opener)
        assert code == 0, err
    finally:
        opener.stop()
        if process.poll() is None:
            process.kill()
            process.wait()
    token = latchkey.run("token", "work").stdout.strip()
    assert jwt_claims(token)["upn"] == "alice@contoso.example", "the account is signed in as the person"


def test_another_users_connections_are_refused_and_block_nothing(latchkey, provider, person, tmp_path, second_user):  # noqa: F811
    opener, process, url, port = start_browser_login(latchkey, tmp_path, provider)
    holder = None
    mine = None
    try:
        path = urlsplit(url).path
        holder = second_user.popen(["/usr/bin/python3", "-c", "import os; exec(os.environ['LK_SCRIPT'])", port, path, "6"],
                                   env={"LK_SCRIPT": HOLD, "PATH": "/usr/bin:/bin"},
                                   stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert holder.stdout.readline().strip() == "holding"
        # A slow connection of the person's own (a browser's idle preconnect) holds nothing up either.
        mine = socket.create_connection(("127.0.0.1", int(port)), timeout=10)
        mine.sendall(b"GET /")
        # The person's browser signs in while those connections are open.
        page = follow_as_the_person(person, url)
        assert page.status_code == 200 and "Signed in" in page.text
        code, err = finish(latchkey, process, opener)
        assert code == 0, err
        holder.stdin.close()
        seen = json.loads(holder.stdout.readline())
        holder.wait(timeout=30)
        assert len(seen) == 6
        for answer in seen:
            assert answer.startswith("HTTP/1.1 403") or answer.startswith("closed"), f"another user's connection got {seen}"
        assert "HTTP/1.1 302" not in seen[0], "the start page must not redirect another user"
    finally:
        opener.stop()
        if mine is not None:
            mine.close()
        if holder is not None and holder.poll() is None:
            holder.stdin.close() if not holder.stdin.closed else None
            holder.wait(timeout=30)
        if process.poll() is None:
            process.kill()
            process.wait()
    assert "refused a connection of another user" in latchkey.log_text()
