"""Every client recipe of README.md run by the real client (Debian 12's msmtp, mbsync,
offlineimap3, neomutt, aerc, git and curl) against real servers: Dovecot (IMAPS, submission)
and Postfix (submission through Dovecot's SASL), both checking the token with the test
provider, and a git smart-HTTP server (scripts/testenv/mail.sh, git.sh).

The recipes are read from README.md (support/recipes.py); only host, port, CA and user are
replaced. Tokens live RUN_LIFETIME seconds here, and each client runs twice with an expiry in
between: the second run must authenticate too, after a refresh at the provider.

At the end pytest prints `real clients: N run (…); recipes not tested: M` and the provider's
refreshes across the expiry per client (conftest.py).
"""

import base64
import imaplib
import smtplib
import ssl

import pytest

from conftest import require_env
from support.latchkey import Latchkey
from support.mailclients import aerc_send, documented_matrix, neomutt_index, read_maildir, send_with, write_aerc
from support.mailenv import REFRESHES, USER, MailSession, Tmux, unique
from support.provider import Person, Provider
from support.recipes import localize, recipe, recipe_line
from test_latchkey_device_flow import assert_no_secrets

RUN_LIFETIME = 4  # seconds: access tokens expire between a client's two runs


@pytest.fixture(scope="module")
def mail(tmp_path_factory, bin_dir):
    names = ("LATCHKEY_TEST_PROVIDER_URL", "LATCHKEY_TEST_CA", "LATCHKEY_TEST_MAIL_HOST",
             "LATCHKEY_TEST_IMAPS_PORT", "LATCHKEY_TEST_DOVECOT_SUBMISSION_PORT",
             "LATCHKEY_TEST_POSTFIX_SUBMISSION_PORT", "LATCHKEY_TEST_GIT_HTTPS",
             "LATCHKEY_TEST_GIT_HTTP_PORT", "LATCHKEY_TEST_GIT_REPO", "LATCHKEY_TEST_GIT_V6")
    env = dict(zip(names, require_env(*names)))
    provider = Provider(env["LATCHKEY_TEST_PROVIDER_URL"], env["LATCHKEY_TEST_CA"])
    provider.reset()
    provider.configure(interval=1, access_token_lifetime=RUN_LIFETIME)
    latchkey = Latchkey(tmp_path_factory.mktemp("mail"), bin_dir)
    git_host = env["LATCHKEY_TEST_GIT_HTTPS"].split("//", 1)[1]
    extra = (f'email = "{USER}"\ngit_hosts = ["{git_host}", "127.0.0.1", "[::1]"]')
    latchkey.write_config('[broker]\nstore = "memory"\n'
                          + latchkey.oauth_account("work", provider.url, provider.ca, extra=extra))
    latchkey.start()
    rc, _, err, _ = latchkey.login("work", Person(provider.url, provider.ca, username="alice"))
    assert rc == 0, err
    session = MailSession(latchkey, provider, env)
    yield session
    latchkey.stop()
    assert_no_secrets(latchkey, provider)
    provider.reset()


def across_expiry(mail, client, run):
    """Runs `run` (one client run that asserts its own success), waits until every token
    issued up to then has expired, runs it again, and returns the provider's refreshes since
    the first run (also shown in the summary line)."""
    run(1)
    # Counted from before the wait: the daemon refreshes a token it hands out ahead of its
    # expiry (proactively, or for the next request), so the refresh that carries run 2 may
    # come during the wait. Either way no token of run 1 is still valid for run 2.
    before = mail.refreshes()
    mail.wait_past_expiry()
    run(2)
    refreshed = mail.refreshes() - before
    REFRESHES[client] = refreshed
    assert refreshed >= 1, f"{client} authenticated after the expiry without a refresh?"
    return refreshed


@pytest.mark.real_client("msmtp")
def test_msmtp_sends_and_the_mail_is_read_back_over_imap(mail):
    mail.write(".msmtprc", mail.localized_msmtp("postfix"))

    def send(n):
        subject = unique(f"msmtp {n}")
        done = mail.run(["msmtp", USER], input=f"To: {USER}\nSubject: {subject}\n\nhello\n")
        assert done.returncode == 0, done.stderr
        assert mail.wait_for_subject(subject), f"{subject!r} was sent but never reached the INBOX"

    across_expiry(mail, "msmtp", send)


@pytest.mark.real_client("mbsync")
def test_mbsync_syncs_the_mailbox(mail):
    text = localize(recipe("mbsync"), host=mail.host, imap_port=mail.imaps, ca=mail.ca)
    mail.write(".mbsyncrc", text)
    (mail.home / "Mail" / "work").mkdir(parents=True, exist_ok=True)

    def sync(n):
        subject = unique(f"mbsync {n}")
        mail.deliver(subject)
        done = mail.run(["mbsync", "work"])
        assert done.returncode == 0, done.stdout + done.stderr
        assert subject in read_maildir(mail.home / "Mail" / "work" / "INBOX")

    across_expiry(mail, "mbsync", sync)


@pytest.mark.real_client("offlineimap")
def test_offlineimap_syncs_the_mailbox(mail):
    text = localize(recipe("offlineimap"), host=mail.host, imap_port=mail.imaps, ca=mail.ca)
    mail.write(".offlineimaprc", text)

    def sync(n):
        subject = unique(f"offlineimap {n}")
        mail.deliver(subject)
        done = mail.run(["offlineimap", "-o", "-u", "basic"])
        assert done.returncode == 0, done.stdout + done.stderr
        assert "ERROR" not in done.stdout + done.stderr, done.stdout + done.stderr
        assert subject in read_maildir(mail.home / "Mail" / "offlineimap" / "INBOX")

    across_expiry(mail, "offlineimap", sync)


@pytest.mark.real_client("git")
def test_git_clone_and_push_through_the_credential_helper(mail):
    setup = recipe_line("git config --global credential.helper")
    done = mail.run(["bash", "-c", setup])
    assert done.returncode == 0, done.stderr
    url = mail.git_https + mail.git_repo

    def clone_and_push(n):
        work = mail.home / f"clone-{n}"
        done = mail.run(["git", "clone", "-q", url, str(work)])
        assert done.returncode == 0, done.stderr
        (work / unique(f"file-{n}").replace(" ", "-")).write_text("pushed through Latchkey\n")
        assert mail.run(["git", "-C", str(work), "add", "."]).returncode == 0
        assert mail.run(["git", "-C", str(work), "commit", "-q", "-m", f"change {n}"]).returncode == 0
        done = mail.run(["git", "-C", str(work), "push", "-q", "origin", "HEAD"])
        assert done.returncode == 0, done.stderr
        check = mail.run(["git", "ls-remote", url, "refs/heads/main"])
        head = mail.run(["git", "-C", str(work), "rev-parse", "HEAD"]).stdout.strip()
        assert check.returncode == 0 and check.stdout.split()[0] == head

    across_expiry(mail, "git", clone_and_push)


@pytest.mark.real_client("curl")
def test_curl_with_latchkey_header(mail):
    line = recipe_line('curl -H "$(latchkey header work)"')
    provider_host = mail.provider.url.split("//", 1)[1]
    command = localize(line, host=provider_host)

    def fetch(n):
        before = mail.provider.counters()["service_ok"]
        done = mail.run(["bash", "-c", command + " --fail --silent --show-error"])
        assert done.returncode == 0, done.stderr
        assert '"ok": true' in done.stdout.replace('"ok":true', '"ok": true')
        assert mail.provider.counters()["service_ok"] == before + 1

    across_expiry(mail, "curl", fetch)


@pytest.mark.real_client("neomutt")
def test_neomutt_reads_the_mailbox_and_sends(mail):
    text = localize(recipe("neomutt"), host=mail.host, imap_port=mail.imaps,
                    submission_port=mail.submission["postfix"], ca=mail.ca)
    mail.write(".neomuttrc", text)

    def read_and_send(n):
        subject = unique(f"neomutt {n}")
        mail.deliver(subject)
        screen = neomutt_index(mail, subject)
        assert subject in screen, screen
        sent = unique(f"sent by neomutt {n}")
        done = mail.run(["neomutt", "-s", sent, USER], input="sent in batch mode\n")
        assert done.returncode == 0, done.stdout + done.stderr
        assert mail.wait_for_subject(sent), f"{sent!r} was sent but never reached the INBOX"

    across_expiry(mail, "neomutt", read_and_send)


@pytest.mark.real_client("aerc")
def test_aerc_reads_the_mailbox_and_sends(mail):
    write_aerc(mail, localize(recipe("aerc"), host=mail.host, imap_port=mail.imaps,
                              submission_port=mail.submission["postfix"], ca=mail.ca))

    def read_and_send(n):
        subject = unique(f"aerc {n}")
        mail.deliver(subject)
        terminal = Tmux(mail, "aerc")
        try:
            terminal.start("aerc")
            screen = terminal.wait_for(subject, "rror", "failed")
        finally:
            terminal.stop()
        assert subject in screen, screen
        sent = unique(f"sent by aerc {n}")
        outcome, screen = aerc_send(mail, sent)
        assert outcome == "sent", screen
        assert mail.wait_for_subject(sent), f"{sent!r} was sent but never reached the INBOX"

    across_expiry(mail, "aerc", read_and_send)


# ----------------------------------------------------------------- which server takes which client

@pytest.mark.real_client("msmtp")
@pytest.mark.real_client("neomutt")
@pytest.mark.real_client("aerc")
def test_senders_against_both_submission_servers_as_documented(mail):
    rows = documented_matrix()
    assert len(rows) == 12, "docs/mail-clients.md: 3 clients x 2 mechanisms x 2 servers"
    seen = []
    for client, mechanism, server, expected in rows:
        outcome, said = send_with(mail, client, mechanism, server)
        print(f"{client} {mechanism} via {server}: {outcome}")
        if expected == "sent":
            ok = outcome == "sent"
        else:
            ok = outcome == "refused" and expected in said
        seen.append((client, mechanism, server, expected, outcome, ok, said.strip()[-200:]))
    wrong = [row for row in seen if not row[5]]
    assert not wrong, "not as docs/mail-clients.md says:\n" + "\n".join(map(str, wrong))


@pytest.mark.real_client("latchkey sasl")
def test_sasl_recipe_authenticates_at_imap_and_submission(mail):
    """The README's `latchkey sasl` line gives a response Dovecot's IMAP (AUTHENTICATE
    OAUTHBEARER) and Postfix's submission (AUTH OAUTHBEARER, initial response) take."""
    done = mail.run(["bash", "-c", recipe_line("latchkey sasl work")])
    assert done.returncode == 0, done.stderr
    response = done.stdout.strip()
    context = ssl.create_default_context(cafile=mail.ca)
    with imaplib.IMAP4_SSL(mail.host, mail.imaps, ssl_context=context, timeout=30) as imap:
        status, _ = imap.authenticate("OAUTHBEARER", lambda _: base64.b64decode(response))
        assert status == "OK"
    with smtplib.SMTP(mail.host, mail.submission["postfix"], timeout=30) as smtp:
        smtp.starttls(context=context)
        smtp.ehlo()
        code, said = smtp.docmd("AUTH", f"OAUTHBEARER {response}")
        assert code == 235, said


def test_signed_out_clients_show_latchkeys_message(mail):
    """Last (it signs the session out): what msmtp, mbsync and neomutt show the person when
    Latchkey needs a sign-in. Each passes the command's standard error through, so the
    person sees Latchkey's own message with its remedy, then the client's."""
    done = mail.latchkey.run("logout", "work")
    assert done.returncode == 0, done.stderr
    token = mail.latchkey.run("token", "work")
    assert token.returncode == 77 and "latchkey login work" in token.stderr, token.stderr

    mail.write(".msmtprc", mail.localized_msmtp("postfix"))
    mail.write(".mbsyncrc", localize(recipe("mbsync"), host=mail.host, imap_port=mail.imaps, ca=mail.ca))
    (mail.home / "Mail" / "work").mkdir(parents=True, exist_ok=True)
    mail.write(".neomuttrc", localize(recipe("neomutt"), host=mail.host, imap_port=mail.imaps,
                                      submission_port=mail.submission["postfix"], ca=mail.ca))
    shown = {
        "msmtp": mail.run(["msmtp", USER], input=f"To: {USER}\nSubject: signed out\n\nx\n"),
        "mbsync": mail.run(["mbsync", "work"]),
        "neomutt": mail.run(["neomutt", "-s", "signed out", USER], input="x\n"),
    }
    for client, done in shown.items():
        text = done.stdout + done.stderr
        print(f"--- {client} (exit {done.returncode}):\n{text}")
        assert done.returncode != 0, f"{client} did not fail:\n{text}"
        assert token.stderr.strip().splitlines()[0] in text, f"{client} hid Latchkey's message:\n{text}"
