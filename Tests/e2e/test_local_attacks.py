"""Issue 15, attacks 1, 4, 5, 6, 7 and 8: each run for real, each passing because it fails.

Attacks by another local user run as a user created for the test (`useradd`, removed after);
the tests therefore run as root."""

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

from support.attacker import Attacker, require_root

HERE = Path(__file__).parent
PASSWORD = "victim-Kerberos-pw-7"


@pytest.fixture
def attacker():
    require_root()
    person = Attacker()
    yield person
    person.remove()


def wait_for_line(process, text, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        line = process.stdout.readline()
        if text in line:
            return
        if not line and process.poll() is not None:
            break
    raise AssertionError(f"the attacker's program did not say {text!r}")


def victim_env(latchkey):
    """The victim's environment without XDG_RUNTIME_DIR: the socket falls back to /tmp."""
    env = dict(latchkey.env)
    env.pop("XDG_RUNTIME_DIR", None)
    return env


# Attack 1: another user takes the victim's /tmp fallback folder and listens there.

@pytest.fixture
def squatted(attacker):
    """/tmp/latchkey-UID of the victim (root), made and served by the attacker first."""
    folder = Path(f"/tmp/latchkey-{os.getuid()}")
    if folder.exists():
        pytest.fail(f"{folder} exists already; remove it to run this test", pytrace=False)
    socket_path = folder / "latchkey" / "latchkey.sock"
    record = f"/tmp/lk-received-{attacker.name}"
    fake = attacker.python((HERE / "support" / "fake_daemon.py").read_text(), str(socket_path), record,
                           stdout=subprocess.PIPE, text=True)
    wait_for_line(fake, "listening")
    yield socket_path, record
    fake.kill()
    fake.wait()
    shutil.rmtree(folder, ignore_errors=True)
    if os.path.exists(record):
        os.unlink(record)


def received(record):
    return Path(record).read_bytes() if os.path.exists(record) else b""


def test_a_fake_daemon_of_another_user_gets_no_token_request(latchkey, attacker, squatted):
    socket_path, record = squatted
    env = victim_env(latchkey)
    for command in (["token", "work"], ["header", "work"], ["status"]):
        done = subprocess.run([str(latchkey.bin / "latchkey"), *command], capture_output=True, text=True,
                              env=env, timeout=30)
        assert done.returncode == 77, (command, done.returncode, done.stdout, done.stderr)
        assert "attacker-chosen-token" not in done.stdout
        assert str(socket_path) in done.stderr and attacker.name in done.stderr, done.stderr
    assert received(record) == b"", "the client sent a request to the other user's socket"


def test_a_fake_daemon_of_another_user_never_sees_a_typed_password(latchkey, attacker, squatted):
    socket_path, record = squatted
    done = subprocess.run([str(latchkey.bin / "latchkey"), "login", "krb", "--method", "kerberos"],
                          input=PASSWORD + "\n", capture_output=True, text=True, env=victim_env(latchkey),
                          timeout=60)
    assert done.returncode == 77, (done.returncode, done.stdout, done.stderr)
    assert str(socket_path) in done.stderr, done.stderr
    assert PASSWORD.encode() not in received(record)
    assert received(record) == b""


def test_a_link_to_another_users_socket_is_refused_by_the_peer_check(latchkey, attacker, tmp_path):
    """The folders are the victim's own, but the socket path leads to a daemon of another user:
    the kernel's word on the peer (SO_PEERCRED) refuses it."""
    theirs = Path(f"/tmp/lk-fake-{attacker.name}")
    fake = attacker.python((HERE / "support" / "fake_daemon.py").read_text(), str(theirs / "s.sock"),
                           str(theirs / "received"), stdout=subprocess.PIPE, text=True)
    try:
        wait_for_line(fake, "listening")
        folder = tmp_path / "own"
        folder.mkdir(mode=0o700)
        (folder / "latchkey.sock").symlink_to(theirs / "s.sock")
        done = latchkey.run("token", "work", "--socket", str(folder / "latchkey.sock"))
        assert done.returncode == 77, (done.returncode, done.stdout, done.stderr)
        assert "attacker-chosen-token" not in done.stdout
        assert attacker.name in done.stderr, done.stderr
        assert received(str(theirs / "received")) == b""
    finally:
        fake.kill()
        fake.wait()
        shutil.rmtree(theirs, ignore_errors=True)


# Attack 4: a configuration file others can write hijacks the refresh token.

@pytest.mark.parametrize("weakness", ["file-writable", "folder-writable", "file-owned-by-other"])
def test_a_config_others_can_change_is_refused_at_start(latchkey, attacker, weakness):
    latchkey.write_config('[broker]\nstore = "memory"\n')
    target = latchkey.config
    if weakness == "file-writable":
        os.chmod(target, 0o666)
    elif weakness == "folder-writable":
        target = latchkey.config_dir
        os.chmod(target, 0o777)
    else:
        os.chown(target, attacker.uid, attacker.gid)
    process = latchkey.start(wait=False)
    assert process.wait(timeout=30) == 78, latchkey.log_text()
    log = latchkey.log_text()
    assert str(target) in log, log
    assert f"chmod go-w {target}" in log or f"chown" in log, log


def test_a_config_made_writable_is_not_reloaded_and_the_last_good_one_stays(latchkey, attacker, provider):
    folder = Path(f"/tmp/lk-config-{attacker.name}")
    folder.mkdir(mode=0o755)
    config = folder / "config.toml"
    try:
        config.write_text('[broker]\nstore = "memory"\n\n' + latchkey.oauth_account("work", provider.url, provider.ca))
        latchkey.start("--config", str(config))
        # Another user, allowed to write by a careless mode, points the account at their server.
        os.chmod(config, 0o666)
        evil = (config.read_text().replace(provider.url, "https://127.0.0.1:9")
                + '\n[accounts.evil]\nmethod = "basic"\nusername = "x"\nurl = "https://127.0.0.1:9/"\n')
        writer = attacker.popen(["sh", "-c", f"cat > {config}"], stdin=subprocess.PIPE)
        writer.communicate(evil.encode(), timeout=10)
        assert writer.returncode == 0, "the attacker could not write the file"
        latchkey.process.send_signal(1)  # SIGHUP
        deadline = time.time() + 10
        while time.time() < deadline and "not reloaded" not in latchkey.log_text():
            time.sleep(0.1)
        log = latchkey.log_text()
        assert f"chmod go-w {config}" in log, log
        status = latchkey.run("status", "--json").stdout
        assert "evil" not in status and "work" in status, status
        # Fixed, it reloads.
        os.chmod(config, 0o644)
        latchkey.process.send_signal(1)
        deadline = time.time() + 10
        while time.time() < deadline and "evil" not in latchkey.run("status", "--json").stdout:
            time.sleep(0.1)
        assert "evil" in latchkey.run("status", "--json").stdout
    finally:
        shutil.rmtree(folder, ignore_errors=True)


# Attack 5: descriptors leak into notify_command children.

O_CLOEXEC = 0o2000000


def listening_inode(path):
    """The inode of the socket listening on `path` (Flags __SO_ACCEPTCON in /proc/net/unix)."""
    for line in Path("/proc/net/unix").read_text().splitlines()[1:]:
        fields = line.split()
        if len(fields) >= 8 and fields[7] == path and int(fields[3], 16) & 0x10000:
            return fields[6]
    raise AssertionError(f"nothing listens on {path}")


def descriptors(pid):
    """{fd: (target, close-on-exec)} of a process."""
    found = {}
    for name in os.listdir(f"/proc/{pid}/fd"):
        try:
            flags = int(Path(f"/proc/{pid}/fdinfo/{name}").read_text().split("flags:")[1].split()[0], 8)
            found[int(name)] = (os.readlink(f"/proc/{pid}/fd/{name}"), bool(flags & O_CLOEXEC))
        except (FileNotFoundError, IndexError):
            continue
    return found


def test_notify_command_children_get_only_the_standard_descriptors(latchkey, provider, person, tmp_path):
    record = tmp_path / "fds.txt"
    provider.configure(interval=1)
    latchkey.write_config(
        '[broker]\nstore = "memory"\nnotify = "command"\n'
        f'notify_command = ["sh", "-c", "echo $$ > {record}.tmp; mv {record}.tmp {record}; sleep 10"]\n\n'
        + latchkey.oauth_account("work", provider.url, provider.ca))
    latchkey.start()
    assert latchkey.login("work", person)[0] == 0
    # Connections are open (accepted sockets exist) when the daemon's descriptors are read.
    held = [socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) for _ in range(3)]
    for s in held:
        s.connect(latchkey.socket)
    time.sleep(0.3)
    # The listening socket is close-on-exec; files too. (SwiftNIO opens its epoll descriptor and
    # accepted connections without it and keeps them to itself: children close them, below.)
    held_fds = descriptors(latchkey.process.pid)
    listening = f"socket:[{listening_inode(latchkey.socket)}]"
    assert [cloexec for target, cloexec in held_fds.values() if target == listening] == [True], held_fds
    files = {fd: entry for fd, entry in held_fds.items() if fd > 2 and entry[0].startswith("/")}
    assert all(cloexec for _, cloexec in files.values()), files
    # A refresh that needs the person again runs notify_command.
    provider.fault("token", "status", status=400, error="invalid_grant", count=5)
    assert latchkey.run("token", "work", "--min-valid", "7200").returncode == 77
    deadline = time.time() + 15
    while time.time() < deadline and not record.exists():
        time.sleep(0.1)
    child = int(record.read_text())
    inherited = {fd: target for fd, (target, _) in descriptors(child).items()}
    os.kill(child, 15)
    for s in held:
        s.close()
    assert sorted(inherited) == [0, 1, 2], inherited


# Attack 6: slow clients starve everyone else.

def test_two_thousand_slow_bodies_do_not_stop_a_token(latchkey, provider, person):
    latchkey.write_config('[broker]\nstore = "memory"\n\n' + latchkey.oauth_account("work", provider.url, provider.ca))
    # The usual soft limit of open files (1,024), under the hard one: the daemon raises it.
    latchkey.start(prefix=("prlimit", "--nofile=1024:20000", "--"))
    assert latchkey.login("work", person)[0] == 0
    slow = []
    head = b"POST /v1/accounts/work/login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"
    try:
        for _ in range(2000):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(5)
            s.connect(latchkey.socket)
            s.sendall(head)
            slow.append(s)
        for s in slow:
            s.sendall(b" ")
        started = time.monotonic()
        done = latchkey.run("token", "work", timeout=5)
        took = time.monotonic() - started
        print(f"latchkey token beside 2,000 slow bodies: {took * 1000:.0f} ms")
        assert done.returncode == 0 and done.stdout.strip(), done.stderr
    finally:
        for s in slow:
            s.close()
    limits = Path(f"/proc/{latchkey.process.pid}/limits").read_text()
    soft = int(next(line for line in limits.splitlines() if line.startswith("Max open files")).split()[3])
    assert soft == 20000, limits


def test_a_complete_head_with_a_slow_body_is_timed_out(latchkey):
    latchkey.write_config('[broker]\nstore = "memory"\n')
    latchkey.start()
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(latchkey.socket)
    s.sendall(b"POST /v1/accounts/work/login HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100\r\n\r\n{")
    # One byte every second: a request never complete. The daemon must end it (its limit is
    # 15 s for a whole request); 60 s leaves room for a slow machine.
    closed = False
    deadline = time.time() + 60
    s.settimeout(1)
    while time.time() < deadline and not closed:
        try:
            s.sendall(b" ")
            if s.recv(65536) == b"":
                closed = True
        except socket.timeout:
            continue
        except (BrokenPipeError, ConnectionResetError):
            closed = True
    s.close()
    assert closed, "a request whose body never ends held its connection for 60 s"


# Attack 7: escape sequences from a provider reach the terminal.

def test_escape_sequences_from_a_provider_are_shown_not_obeyed(latchkey, provider):
    latchkey.write_config('[broker]\nstore = "memory"\n\n' + latchkey.oauth_account("work", provider.url, provider.ca))
    latchkey.start()
    provider.fault("device_authorization", "json", body={
        "device_code": "dc-1", "user_code": "AB\x1b]0;owned\x07CD\x1b[2J", "expires_in": 5, "interval": 1,
        "verification_uri": provider.url + "/device\x1b[8m", "verification_uri_complete": provider.url + "/d\x9b31m"})
    process = subprocess.run([str(latchkey.bin / "latchkey"), "login", "work"], capture_output=True,
                             env=latchkey.env, timeout=60)
    shown = process.stdout + process.stderr
    for control in (b"\x1b", b"\x07", "\x9b".encode()):
        assert control not in shown, shown
    assert b"^[" in shown or b"\\x1b" in shown or b"\\u{1b}" in shown, shown
    # An error message from the provider, through the daemon.
    provider.fault("device_authorization", "status", status=400, error="invalid_client",
                   error_description="bad\x1b]52;c;ZXZpbA==\x07client", count=3)
    process = subprocess.run([str(latchkey.bin / "latchkey"), "login", "work"], capture_output=True,
                             env=latchkey.env, timeout=60)
    assert process.returncode != 0
    assert b"\x1b" not in process.stderr and b"\x07" not in process.stderr, process.stderr


# Attack 8: a fatal signal makes the Swift runtime dump memory into the log.

@pytest.mark.parametrize("sig", ["SEGV", "ABRT", "BUS"])
def test_a_crash_ends_the_daemon_without_a_memory_dump(latchkey, sig):
    import signal as signals
    latchkey.write_config('[broker]\nstore = "memory"\n')
    latchkey.start()
    pid = latchkey.process.pid
    os.kill(pid, getattr(signals, "SIG" + sig))
    try:
        latchkey.process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        raise AssertionError("the daemon kept running after SIG" + sig + ":\n" + latchkey.log_text()[-3000:])
    assert latchkey.process.returncode == -getattr(signals, "SIG" + sig), latchkey.process.returncode
    log = latchkey.log_text()
    for sign in ("Registers", "Backtrace", "Thread 0", "crashed", "rip 0x", "Images"):
        assert sign not in log, log[-3000:]
