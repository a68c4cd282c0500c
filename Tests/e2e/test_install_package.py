"""Issue 21: the Debian package installed as a user would, then removed.

`make deb` built $LATCHKEY_DEB (scripts/test.sh does it from the release binaries). The test
installs it with `apt-get install ./latchkey_….deb`, then, as a new ordinary user with a runtime
folder of their own: `latchkey --version`, `man -w`, the bash completion loaded (account names
from the configuration, no daemon started), and a real device-code sign-in with MFA in which the
installed client starts the installed daemon; then `apt-get remove --purge` and nothing of the
package is left. The machine must start without Latchkey installed.
"""

import os
import pwd
import re
import shutil
import subprocess
import time
import uuid

import pytest

from support.attacker import require_root
from support.latchkey import device_login

APT = ["apt-get", "-o", "DPkg::Lock::Timeout=300", "-y", "-q"]


def dpkg_installed(package="latchkey"):
    status = subprocess.run(["dpkg-query", "-W", "-f=${Status}", package], capture_output=True, text=True)
    return status.returncode == 0 and "installed" in status.stdout.split()


class User:
    """An ordinary local user made for this test (useradd), with a home and XDG_RUNTIME_DIR."""

    def __init__(self):
        self.name = "lkinst" + uuid.uuid4().hex[:8]
        subprocess.run(["useradd", "--create-home", "--shell", "/bin/bash", self.name], check=True)
        entry = pwd.getpwnam(self.name)
        self.uid, self.gid, self.home = entry.pw_uid, entry.pw_gid, entry.pw_dir
        self.runtime = os.path.join(self.home, "run")
        self.make_dir(self.runtime, 0o700)

    def make_dir(self, path, mode=0o755):
        os.makedirs(path, mode=mode, exist_ok=True)
        os.chown(path, self.uid, self.gid)
        os.chmod(path, mode)

    def write(self, path, text, mode=0o600):
        with open(path, "w") as f:
            f.write(text)
        os.chown(path, self.uid, self.gid)
        os.chmod(path, mode)

    def argv(self, *argv):
        # A login-like, clean environment: only what a session would set.
        env = [f"HOME={self.home}", f"USER={self.name}", f"XDG_RUNTIME_DIR={self.runtime}",
               "PATH=/usr/local/bin:/usr/bin:/bin", "LANG=C.UTF-8"]
        return ["runuser", "-u", self.name, "--", "env", "-i", *env, *argv]

    def run(self, *argv, timeout=60):
        return subprocess.run(self.argv(*argv), capture_output=True, text=True, timeout=timeout)

    def pids(self):
        """The user's processes (from /proc: procps may not be installed)."""
        found = []
        for entry in os.listdir("/proc"):
            try:
                if entry.isdigit() and os.stat(f"/proc/{entry}").st_uid == self.uid:
                    found.append(int(entry))
            except FileNotFoundError:
                pass
        return found

    def processes(self):
        """(pid, executable, cmdline) of each of the user's processes; one that ends while it is
        read (a `runuser` or `env` of an earlier command, say) is left out."""
        found = []
        for pid in self.pids():
            try:
                exe = os.readlink(f"/proc/{pid}/exe")
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    cmdline = f.read().decode(errors="replace")
            except (FileNotFoundError, ProcessLookupError):
                continue
            found.append((pid, exe, cmdline))
        return found

    def remove(self):
        for pid in self.pids():
            try:
                os.kill(pid, 15)
            except ProcessLookupError:
                pass
        deadline = time.time() + 10
        while self.pids() and time.time() < deadline:
            time.sleep(0.1)
        subprocess.run(["userdel", "--remove", self.name], capture_output=True)


@pytest.fixture
def deb():
    path = os.environ.get("LATCHKEY_DEB")
    if not path or not os.path.exists(path):
        text = "LATCHKEY_DEB is not set to a built package: run `make deb` (scripts/test.sh does)"
        if os.environ.get("LATCHKEY_INTEGRATION") == "1":
            pytest.fail(text, pytrace=False)
        pytest.skip(text)
    require_root()
    return os.path.abspath(path)


@pytest.fixture
def user():
    u = User()
    yield u
    u.remove()


def test_package_installs_works_for_a_user_and_purges_clean(deb, user, provider, person):
    assert not dpkg_installed(), "latchkey is installed already: this test needs a machine without it " \
                                 "(apt-get remove --purge latchkey)"
    assert not os.path.exists("/usr/bin/latchkey") and not os.path.exists("/usr/bin/latchkeyd")
    fields = subprocess.run(["dpkg-deb", "--field", deb, "Depends"], capture_output=True, text=True, check=True).stdout
    for library in ("libcurl4", "libgssapi-krb5-2", "libsecret-1-0", "libssl3", "libglib2.0-0"):
        assert library in fields, f"the package does not depend on {library}: {fields}"

    installed = subprocess.run([*APT, "install", "--no-install-recommends", deb], capture_output=True, text=True)
    try:
        assert installed.returncode == 0, installed.stdout + installed.stderr
        files = subprocess.run(["dpkg", "-L", "latchkey"], capture_output=True, text=True, check=True).stdout.split("\n")
        files = [f for f in files if f and f != "/."]
        for expected in ("/usr/bin/latchkey", "/usr/bin/latchkeyd", "/usr/lib/systemd/user/latchkey.socket",
                         "/usr/lib/systemd/user/latchkey.service", "/usr/share/man/man1/latchkey.1.gz",
                         "/usr/share/man/man5/latchkey.toml.5.gz", "/usr/share/man/man8/latchkeyd.8.gz",
                         "/usr/share/bash-completion/completions/latchkey",
                         "/usr/share/zsh/vendor-completions/_latchkey",
                         "/usr/share/fish/vendor_completions.d/latchkey.fish",
                         "/usr/share/doc/latchkey/latchkey.example.toml"):
            assert expected in files, f"{expected} is not in the package"
        with open("/usr/lib/systemd/user/latchkey.service") as unit:
            assert "ExecStart=/usr/bin/latchkeyd serve\n" in unit.read()

        version = user.run("latchkey", "--version")
        assert version.returncode == 0 and re.fullmatch(r"\d+\.\d+\.\d+\S*\n", version.stdout), version
        for page, path in ((["latchkey"], "/usr/share/man/man1/latchkey.1.gz"),
                           (["8", "latchkeyd"], "/usr/share/man/man8/latchkeyd.8.gz"),
                           (["5", "latchkey.toml"], "/usr/share/man/man5/latchkey.toml.5.gz")):
            found = user.run("man", "-w", *page)
            assert found.stdout.strip() == path, found
        text = user.run("man", "-P", "cat", "latchkey", timeout=60)
        assert "LATCHKEY_DAEMON" in text.stdout and "git-credential" in text.stdout, text.stderr

        # The user's configuration: one OAuth account at the test provider (CA copied: the
        # test environment's folder is root's).
        config = os.path.join(user.home, ".config", "latchkey")
        user.make_dir(os.path.dirname(config))
        user.make_dir(config, 0o700)
        ca = os.path.join(config, "provider-ca.pem")
        shutil.copyfile(provider.ca, ca)
        os.chown(ca, user.uid, user.gid)
        provider.configure(interval=1)
        user.write(os.path.join(config, "config.toml"),
                   '[broker]\nstore = "memory"\nnotify = "none"\n\n'
                   f'[accounts.work]\nmethod = "oauth"\nprovider = "oidc"\nissuer = "{provider.url}"\n'
                   f'client_id = "latchkey-test"\nscopes = ["openid", "offline_access", "mail.read"]\n'
                   f'ca_file = "{ca}"\n')

        # The bash completion, sourced as bash-completion would: registered, and completing
        # account names from the configuration without starting a daemon.
        script = "/usr/share/bash-completion/completions/latchkey"
        complete = user.run("bash", "-c", f"source {script} && complete -p latchkey")
        assert complete.returncode == 0 and "-F _latchkey latchkey" in complete.stdout, complete
        tab = ('source {s}; COMP_WORDS=(latchkey token w); COMP_CWORD=2; COMP_LINE="latchkey token w"; '
               'COMP_POINT=${{#COMP_LINE}}; _latchkey; printf "%s\\n" "${{COMPREPLY[@]}}"').format(s=script)
        names = user.run("bash", "-c", tab)
        assert names.stdout.split() == ["work"], names
        assert not os.path.exists(os.path.join(user.runtime, "latchkey", "latchkey.sock")), \
            "the completion started a daemon"
        assert not any("latchkeyd" in cmdline for _, _, cmdline in user.processes())

        # A real sign-in: the installed client starts the installed daemon (autostart).
        rc, out, err, code = device_login(user.argv("latchkey", "login", "work"), person)
        assert rc == 0 and code and "Signed in to 'work'" in err, err
        daemons = [pid for pid, exe, _ in user.processes() if exe == "/usr/bin/latchkeyd"]
        assert len(daemons) == 1, "the installed client did not start the installed daemon"
        token = user.run("latchkey", "token", "work")
        assert token.returncode == 0, token.stderr
        assert provider.resource(token.stdout.strip()).status_code == 200
        header = user.run("latchkey", "header", "work")
        assert header.stdout.strip() == "Authorization: Bearer " + token.stdout.strip()
        # With the daemon running, the completion asks it (and still completes the name).
        names = user.run("bash", "-c", tab)
        assert names.stdout.split() == ["work"], names
        user.remove()  # stops the user's daemon before the package goes

        purged = subprocess.run([*APT, "remove", "--purge", "latchkey"], capture_output=True, text=True)
        assert purged.returncode == 0, purged.stdout + purged.stderr
        assert not dpkg_installed()
        left = [f for f in files if os.path.lexists(f) and not os.path.isdir(f)]
        assert left == [], f"left after purge: {left}"
        assert not os.path.exists("/usr/share/doc/latchkey") and not os.path.exists("/usr/share/lintian/overrides/latchkey")
    finally:
        if dpkg_installed():
            subprocess.run([*APT, "remove", "--purge", "latchkey"], capture_output=True)
