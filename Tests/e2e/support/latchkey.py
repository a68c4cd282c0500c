"""Runs the real `latchkeyd` and `latchkey` binaries for end-to-end tests.

Every command's output and the daemon's log are kept, so a test can search all of them for
the secrets it used (tokens, refresh tokens, device codes, passwords).
"""

import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path


def unix_http(path, method, target, timeout=10):
    """(status, headers, body) of one HTTP/1.1 request over a Unix socket."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(path)
        s.sendall(f"{method} {target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}
    return status, headers, body


def poll(condition, timeout, step=0.5):
    """Waits until `condition()` is true or `timeout` seconds have passed; returns its last value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return condition()


def device_login(argv, person, *, env=None, approve=True):
    """Runs a `latchkey login` command line (argv, e.g. under runuser) as a person would: reads
    the code it shows, completes the provider's page with password and TOTP (or denies it:
    approve="deny"; or leaves it: False), and waits for the command to finish.
    (returncode, stdout, stderr, code)."""
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    shown = []
    code = None
    deadline = time.time() + 30
    while code is None and time.time() < deadline:
        line = process.stderr.readline()
        if not line:
            break
        shown.append(line)
        match = re.search(r"enter the code:\s+(\S+)", line)
        if match:
            code = match.group(1)
    if code is not None:
        if approve is True:
            assert person.approve_device(code), "the provider did not approve the sign-in"
        elif approve == "deny":
            person.deny_device(code)
    try:
        stdout, stderr = process.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        process.kill()
        stdout, stderr = process.communicate()
    return process.returncode, stdout, "".join(shown) + stderr, code


class Latchkey:
    """One daemon with its own runtime folder, configuration and log."""

    def __init__(self, root: Path, bin_dir: str):
        self.root = root
        self.bin = Path(bin_dir)
        self.runtime = root / "run"
        self.config_dir = root / "config" / "latchkey"
        self.runtime.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.config_dir.mkdir(parents=True, exist_ok=True)
        self.config = self.config_dir / "config.toml"
        self.socket = str(self.runtime / "latchkey" / "latchkey.sock")
        self.log = root / "latchkeyd.log"
        self.transcript = []  # (argv, returncode, stdout, stderr) of every command
        self.process = None
        self.extra_env = {}   # e.g. DBUS_SESSION_BUS_ADDRESS for the keyring tests

    @property
    def env(self):
        env = {k: v for k, v in os.environ.items() if not k.startswith("LATCHKEY_TEST")}
        env.update(XDG_RUNTIME_DIR=str(self.runtime), XDG_CONFIG_HOME=str(self.root / "config"),
                   HOME=str(self.root))
        env.pop("DBUS_SESSION_BUS_ADDRESS", None)
        env.pop("DISPLAY", None)
        env.update(self.extra_env)
        return env

    def restart(self, sig=signal.SIGTERM, *args):
        """Stops the daemon (SIGTERM, or SIGKILL: no chance to clean up) and starts it again."""
        self.stop(sig)
        return self.start(*args)

    def write_config(self, text):
        self.config.write_text(text)

    def oauth_account(self, name, provider_url, ca, *, scopes=("openid", "offline_access", "mail.read"),
                      extra=""):
        scope_list = ", ".join(f'"{s}"' for s in scopes)
        return (f'[accounts.{name}]\nmethod = "oauth"\nprovider = "oidc"\nissuer = "{provider_url}"\n'
                f'client_id = "latchkey-test"\nscopes = [{scope_list}]\nca_file = "{ca}"\n{extra}\n')

    def start(self, *args, wait=True, prefix=()):
        """Starts the daemon; `prefix` runs it under another program (e.g. faketime)."""
        log = open(self.log, "ab")
        self.process = subprocess.Popen([*prefix, str(self.bin / "latchkeyd"), "serve", "--log-level", "trace", *args],
                                        stdout=log, stderr=log, stdin=subprocess.DEVNULL, env=self.env)
        log.close()
        if wait:
            self.wait_ready()
        return self.process

    def wait_ready(self, timeout=15):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.process and self.process.poll() is not None:
                raise AssertionError(f"latchkeyd exited with {self.process.returncode}:\n{self.log_text()}")
            try:
                if unix_http(self.socket, "GET", "/v1/health", timeout=1)[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise AssertionError("latchkeyd did not become ready:\n" + self.log_text())

    def stop(self, sig=signal.SIGTERM):
        if self.process and self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode if self.process else None

    def run(self, *args, input=None, timeout=60):
        argv = [str(self.bin / "latchkey"), *args]
        done = subprocess.run(argv, capture_output=True, text=True, input=input, timeout=timeout, env=self.env)
        self.transcript.append((argv, done.returncode, done.stdout, done.stderr))
        return done

    def api(self, method, target):
        status, headers, body = unix_http(self.socket, method, target)
        self.transcript.append(([method, target], status, body.decode(errors="replace"), ""))
        return status, headers, body

    def login(self, account, person, *, approve=True, args=()):
        """Runs `latchkey login` as a person would: reads the code it shows, completes the
        provider's page with password and TOTP, and waits for the command to finish."""
        argv = [str(self.bin / "latchkey"), "login", account, *args]
        rc, stdout, stderr, code = device_login(argv, person, env=self.env, approve=approve)
        self.transcript.append((argv, rc, stdout, stderr))
        return rc, stdout, stderr, code

    def log_text(self):
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def everything_printed(self):
        """The daemon's log and every command's output, for secret searches."""
        parts = [self.log_text()]
        for argv, _, out, err in self.transcript:
            parts += [" ".join(argv), out, err]
        return "\n".join(parts)
