"""Issue 15, attack 3: allowed_clients binds to the connection. The daemon pins the peer when it
accepts the connection (the program and the process start time); a process that connects and
then execs the allowed program is refused, and every route that touches a restricted account
(token, header, login, login answers, logout, challenge) refuses a program not allowed."""

import json
import os
import shutil
import socket
import subprocess
import sys

import pytest

# The connector: connects, makes sure the daemon accepted (one answered request), forks a child
# that keeps the connection, and execs the allowed program. The child waits until the connector
# runs the allowed program, then asks for the token on the connection the connector made.
CONNECT_THEN_EXEC = r'''
import os, socket, sys, time
sock_path, allowed, target = sys.argv[1], sys.argv[2], sys.argv[3]
s = socket.socket(socket.AF_UNIX)
s.connect(sock_path)

def ask(method, target):
    s.sendall(f"{method} {target} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    data = b""
    while b"\r\n\r\n" not in data:
        data += s.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    length = int([l.split(b":")[1] for l in head.split(b"\r\n") if l.lower().startswith(b"content-length")][0])
    while len(body) < length:
        body += s.recv(65536)
    return int(head.split()[1]), body.decode()

assert ask("GET", "/v1/health")[0] == 200
connector = os.getpid()
if os.fork() == 0:
    deadline = time.time() + 20
    while time.time() < deadline and os.path.realpath(f"/proc/{connector}/exe") != allowed:
        time.sleep(0.02)
    status, body = ask("GET", target)
    print(status, body.strip(), flush=True)
    os._exit(0)
os.execv(allowed, [allowed, "60"])
'''


# One request on its own connection, also run by the allowed copy of python3 (no pytest there).
REQUEST = r'''
import socket

def request(path, method, target, body=b"", read_body=True):
    """(status, body) of one request on its own connection; a stream's body is not read."""
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(20)
        s.connect(path)
        s.sendall(f"{method} {target} HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n"
                  "Connection: close\r\n\r\n".encode() + body)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        head, _, rest = data.partition(b"\r\n\r\n")
        if read_body and b"chunked" not in head.lower():
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                rest += chunk
        return int(head.split()[1]), rest.decode(errors="replace")
'''
exec(REQUEST)


@pytest.fixture
def programs(tmp_path):
    """Copies with inodes of their own: `mailclient` (a copy of sleep, the allowed program the
    attacker execs) and `allowedpy` (a copy of python3, an allowed program that speaks HTTP)."""
    mailclient = tmp_path / "mailclient"
    allowedpy = tmp_path / "allowedpy"
    shutil.copy(shutil.which("sleep"), mailclient)
    shutil.copy(os.path.realpath(sys.executable), allowedpy)
    return str(mailclient), str(allowedpy)


def configure(latchkey, provider, programs):
    allowed = ", ".join(f'"{p}"' for p in [*programs, str(latchkey.bin / "latchkey")])
    latchkey.write_config(
        '[broker]\nstore = "memory"\n\n'
        + latchkey.oauth_account("work", provider.url, provider.ca, extra=f"allowed_clients = [{allowed}]")
        + f'\n[accounts.legacy]\nmethod = "basic"\nusername = "alice"\nurl = "https://127.0.0.1:1/basic/"\n'
        f"allowed_clients = [{allowed}]\n")
    latchkey.start()


def test_a_process_that_execs_the_allowed_program_after_connecting_is_refused(latchkey, provider, person, programs):
    mailclient, allowedpy = programs
    configure(latchkey, provider, programs)
    assert latchkey.login("work", person)[0] == 0
    # The allowed program itself gets the token: the check is not simply closed.
    ok = subprocess.run([allowedpy, "-c", REQUEST + "import sys\nprint(request(sys.argv[1], 'GET', '/v1/accounts/work/token')[0])",
                         latchkey.socket], capture_output=True, text=True, timeout=30)
    assert ok.stdout.strip() == "200", ok.stderr

    for target in ("/v1/accounts/work/token", "/v1/accounts/work/header"):
        attack = subprocess.Popen([sys.executable, "-c", CONNECT_THEN_EXEC, latchkey.socket, mailclient, target],
                                  stdout=subprocess.PIPE, text=True)
        try:
            line = attack.stdout.readline()
        finally:
            attack.kill()
            attack.wait()
        status, _, body = line.partition(" ")
        assert status == "403", f"the exec'd connection got {line!r}"
        assert "since it connected" in json.loads(body)["message"]
    assert "changed its program since it connected" in latchkey.log_text()


def test_every_route_of_a_restricted_account_refuses_a_program_not_allowed(latchkey, provider, person, programs):
    _, allowedpy = programs
    configure(latchkey, provider, programs)
    assert latchkey.login("work", person)[0] == 0
    # This test's own python3 is not in allowed_clients.
    status, body = request(latchkey.socket, "POST", "/v1/accounts/work/login?method=device", read_body=False)
    assert status == 403, body
    challenge = json.dumps({"www_authenticate": 'Bearer error="invalid_token"'}).encode()
    status, body = request(latchkey.socket, "POST", "/v1/accounts/work/challenge", challenge)
    assert status == 403, body
    status, body = request(latchkey.socket, "DELETE", "/v1/accounts/work/credentials")
    assert status == 403, body
    assert latchkey.run("token", "work").returncode == 0, "the account is still signed in"

    # A sign-in the allowed program started waits for a password; another program may not answer it.
    watcher = subprocess.Popen(
        [allowedpy, "-c", "import socket, sys\n"
         "s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])\n"
         "s.sendall(b'POST /v1/accounts/legacy/login HTTP/1.1\\r\\nHost: x\\r\\nContent-Length: 0\\r\\n\\r\\n')\n"
         "data = b''\n"
         "while b'login_id' not in data: data += s.recv(4096)\n"
         "print(data.split(b'\"login_id\":\"')[1].split(b'\"')[0].decode(), flush=True)\n"
         "sys.stdin.read()\n", latchkey.socket],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        login_id = watcher.stdout.readline().strip()
        assert login_id
        answer = json.dumps({"answers": ["attacker-chosen-password"]}).encode()
        status, body = request(latchkey.socket, "POST", f"/v1/logins/{login_id}/answer", answer)
        assert status == 403, body
    finally:
        watcher.kill()
        watcher.wait()
    assert "attacker-chosen-password" not in latchkey.log_text()
