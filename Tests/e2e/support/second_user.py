"""A second local user for attacks across users (the tests run as root): created for one test
with `useradd`, its commands run with `runuser -u NAME --`, removed afterwards."""

import secrets
import subprocess

import pytest


class SecondUser:
    def __init__(self, name):
        self.name = name
        self.uid = int(subprocess.run(["id", "-u", name], capture_output=True, text=True, check=True).stdout)

    def run(self, argv, **options):
        """Runs argv as this user (subprocess.run options: capture_output, timeout, …)."""
        return subprocess.run(["/usr/sbin/runuser", "-u", self.name, "--", *argv], **options)

    def popen(self, argv, **options):
        """A long-running command as this user; it must end by itself (e.g. when its stdin
        closes), so nothing is left to kill."""
        return subprocess.Popen(["/usr/sbin/runuser", "-u", self.name, "--", *argv], **options)


@pytest.fixture
def second_user():
    name = "lkattack" + secrets.token_hex(3)
    subprocess.run(["useradd", "--no-create-home", "--shell", "/usr/sbin/nologin", name], check=True)
    try:
        yield SecondUser(name)
    finally:
        subprocess.run(["userdel", name], check=False)
