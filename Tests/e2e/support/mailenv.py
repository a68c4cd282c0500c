"""One signed-in Latchkey and the real mail and git servers of scripts/testenv (mail.sh,
git.sh), for running real clients (Tests/e2e/test_mail_clients.py).

The clients run with HOME set to the daemon's folder, so a recipe goes where the README says
(~/.msmtprc, ~/.mbsyncrc, …), and with the built `latchkey` first on PATH, as installed.
"""

import imaplib
import os
import ssl
import subprocess
import time
import uuid
from pathlib import Path

from .provider import jwt_claims
from .recipes import localize, recipe

USER = "alice@contoso.example"
REFRESHES = {}  # client -> provider refreshes across its run after an expiry (for the summary)


class MailSession:
    """The servers' ports, the daemon, the provider, and every client command's output."""

    def __init__(self, latchkey, provider, env):
        self.latchkey = latchkey
        self.provider = provider
        self.host = env["LATCHKEY_TEST_MAIL_HOST"]
        self.imaps = int(env["LATCHKEY_TEST_IMAPS_PORT"])
        self.submission = {"dovecot": int(env["LATCHKEY_TEST_DOVECOT_SUBMISSION_PORT"]),
                           "postfix": int(env["LATCHKEY_TEST_POSTFIX_SUBMISSION_PORT"])}
        self.git_https = env["LATCHKEY_TEST_GIT_HTTPS"]
        self.git_http_port = int(env["LATCHKEY_TEST_GIT_HTTP_PORT"])
        self.git_repo = env["LATCHKEY_TEST_GIT_REPO"]
        self.git_v6 = env["LATCHKEY_TEST_GIT_V6"] == "yes"
        self.ca = provider.ca
        self.home = Path(latchkey.root)

    @property
    def env(self):
        """The daemon's environment (XDG folders, HOME) with latchkey on PATH, and the test CA
        for the clients that take it from the environment (aerc: Go; git; curl)."""
        env = dict(self.latchkey.env)
        env["PATH"] = f"{self.latchkey.bin}:{env.get('PATH', '/usr/bin:/bin')}"
        env.update(SSL_CERT_FILE=self.ca, GIT_SSL_CAINFO=self.ca, CURL_CA_BUNDLE=self.ca,
                   GIT_TERMINAL_PROMPT="0", GIT_CONFIG_NOSYSTEM="1", TERM="xterm-256color",
                   EMAIL=USER, GIT_AUTHOR_NAME="Alice", GIT_COMMITTER_NAME="Alice")
        return env

    def write(self, relative, text, mode=0o600):
        """A client's configuration file under HOME (e.g. ".msmtprc")."""
        path = self.home / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        path.chmod(mode)
        return path

    def run(self, argv, *, input=None, timeout=60, cwd=None):
        """Runs a client; its output joins the transcript searched for secrets."""
        done = subprocess.run(argv, input=input, capture_output=True, text=True, timeout=timeout,
                              env=self.env, cwd=cwd or self.home)
        self.latchkey.transcript.append((list(argv), done.returncode, done.stdout, done.stderr))
        return done

    # --------------------------------------------------------------- mail, read back over IMAP

    def token(self):
        done = self.latchkey.run("token", "work")
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    def subjects(self):
        """The subjects in alice's INBOX, read over IMAPS with XOAUTH2 and a token from
        Latchkey (imaplib waits for the server's go-ahead before the response)."""
        context = ssl.create_default_context(cafile=self.ca)
        response = f"user={USER}\x01auth=Bearer {self.token()}\x01\x01".encode()
        with imaplib.IMAP4_SSL(self.host, self.imaps, ssl_context=context, timeout=30) as imap:
            imap.authenticate("XOAUTH2", lambda _: response)
            _, count = imap.select("INBOX", readonly=True)
            if count and count[0] in (b"0", b""):
                return []  # "1:*" is not a valid message set in an empty mailbox
            _, data = imap.fetch("1:*", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        return [part[1].decode(errors="replace").strip() for part in data if isinstance(part, tuple)]

    def wait_for_subject(self, subject, seconds=30):
        """Until the mail arrives (Postfix delivers over LMTP from its queue): readiness, not
        a timed assertion."""
        deadline = time.time() + seconds
        while time.time() < deadline:
            if any(subject in line for line in self.subjects()):
                return True
            time.sleep(0.2)
        return False

    def deliver(self, subject):
        """Puts a mail into alice's INBOX through Postfix (by msmtp's recipe), for the readers."""
        message = f"From: {USER}\nTo: {USER}\nSubject: {subject}\n\nfor the readers\n"
        self.write(".msmtprc", self.localized_msmtp("postfix"))
        done = self.run(["msmtp", USER], input=message)
        assert done.returncode == 0, done.stderr
        assert self.wait_for_subject(subject), f"{subject} never reached the INBOX"

    def localized_msmtp(self, server):
        return localize(recipe("msmtp"), host=self.host, submission_port=self.submission[server], ca=self.ca)

    # --------------------------------------------------------------- tokens across an expiry

    def refreshes(self):
        return self.provider.counters()["token_refresh_ok"]

    def wait_past_expiry(self):
        """Sleeps until every access token issued so far has expired at the provider (the
        test provider issues tokens of a few seconds here)."""
        tokens = self.provider.issued()["access_tokens"]
        if not tokens:
            return
        expiry = max(jwt_claims(t)["exp"] for t in tokens)
        time.sleep(max(0.0, expiry - time.time() + 1.0))


def unique(label):
    return f"{label} {uuid.uuid4().hex[:12]}"


class Tmux:
    """A terminal program on a private tmux server: start, read the screen, stop."""

    def __init__(self, session, name):
        self.session = session
        self.socket = str(session.home / f"tmux-{name}.sock")

    def start(self, command):
        argv = ["tmux", "-S", self.socket, "-f", "/dev/null", "new-session", "-d", "-x", "200", "-y", "50",
                command]
        done = self.session.run(argv)
        assert done.returncode == 0, done.stderr

    def screen(self):
        done = subprocess.run(["tmux", "-S", self.socket, "capture-pane", "-p"], capture_output=True,
                              text=True, timeout=10, env=self.session.env)
        return done.stdout

    def keys(self, *keys):
        subprocess.run(["tmux", "-S", self.socket, "send-keys", *keys], capture_output=True, timeout=10,
                       env=self.session.env)

    def wait_for(self, *texts, seconds=30):
        """The screen once it shows one of `texts` (or the last screen, at the deadline)."""
        deadline = time.time() + seconds
        screen = ""
        while time.time() < deadline:
            screen = self.screen()
            if any(text in screen for text in texts):
                return screen
            time.sleep(0.2)
        return screen

    def stop(self):
        subprocess.run(["tmux", "-S", self.socket, "kill-server"], capture_output=True, timeout=10)
        if os.path.exists(self.socket):
            os.unlink(self.socket)
