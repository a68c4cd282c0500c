"""A second local user for the attacks of issue 15: created with `useradd` for one test and
removed after it; programs run as that user with `setpriv` (which executes the program in
place, unlike `runuser`, so stopping the process stops the program)."""

import os
import pwd
import subprocess
import uuid


class Attacker:
    """Another person's account on the same machine (tests run as root)."""

    def __init__(self):
        self.name = "lkatk" + uuid.uuid4().hex[:8]
        subprocess.run(["useradd", "--no-create-home", "--shell", "/bin/false", self.name], check=True)
        entry = pwd.getpwnam(self.name)
        self.uid, self.gid = entry.pw_uid, entry.pw_gid
        self.processes = []

    def popen(self, argv, **kwargs):
        """Runs argv as the attacker."""
        process = subprocess.Popen(["setpriv", f"--reuid={self.uid}", f"--regid={self.gid}", "--clear-groups", "--", *argv],
                                   **kwargs)
        self.processes.append(process)
        return process

    def python(self, script, *args, **kwargs):
        """Runs a Python script (its text) as the attacker."""
        return self.popen(["/usr/bin/python3", "-c", script, *args], **kwargs)

    def remove(self):
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        subprocess.run(["userdel", self.name], check=True)


def require_root():
    import pytest
    if os.geteuid() != 0:
        text = "these attacks need a second local user: run the tests as root"
        if os.environ.get("LATCHKEY_INTEGRATION") == "1":
            pytest.fail(text, pytrace=False)
        pytest.skip(text)
