"""The mail and git servers of the test environment (scripts/testenv/mail.sh, git.sh) really
check tokens: a live token of the test provider is taken, a made-up or revoked one refused,
by Dovecot's IMAP and submission, Postfix's submission and the git server. And Dovecot's
submission refuses an AUTH line over 512 bytes, which docs/mail-clients.md is about.
"""

import base64
import imaplib
import smtplib
import ssl

import pytest
import requests

from conftest import require_env

USER = "alice@contoso.example"


@pytest.fixture
def servers():
    names = ("LATCHKEY_TEST_MAIL_HOST", "LATCHKEY_TEST_IMAPS_PORT", "LATCHKEY_TEST_DOVECOT_SUBMISSION_PORT",
             "LATCHKEY_TEST_POSTFIX_SUBMISSION_PORT", "LATCHKEY_TEST_GIT_HTTPS", "LATCHKEY_TEST_GIT_REPO")
    host, imaps, dovecot, postfix, git, repo = require_env(*names)
    return {"host": host, "imaps": int(imaps), "dovecot": int(dovecot), "postfix": int(postfix),
            "git": git + repo}


def live_token(provider, person):
    """A token from a device-code sign-in at the provider (no Latchkey involved)."""
    provider.configure(interval=1)
    start = provider.device_authorization().json()
    assert person.approve_device(start["user_code"])
    answer = provider.poll(start["device_code"])
    assert answer.status_code == 200, answer.text
    return answer.json()["access_token"]


def xoauth2(token):
    return f"user={USER}\x01auth=Bearer {token}\x01\x01".encode()


def imap_login(servers, ca, token):
    """True when Dovecot's IMAP takes the token (XOAUTH2, two steps as imaplib does it)."""
    context = ssl.create_default_context(cafile=ca)
    with imaplib.IMAP4_SSL(servers["host"], servers["imaps"], ssl_context=context, timeout=30) as imap:
        try:
            imap.authenticate("XOAUTH2", lambda _: xoauth2(token))
        except imaplib.IMAP4.error:
            return False
        return True


def smtp_login(servers, ca, server, token, initial_response):
    """The SMTP reply code to AUTH XOAUTH2 on `server`'s submission port after STARTTLS."""
    context = ssl.create_default_context(cafile=ca)
    with smtplib.SMTP(servers["host"], servers[server], timeout=30) as smtp:
        smtp.starttls(context=context)
        smtp.ehlo()
        response = base64.b64encode(xoauth2(token)).decode()
        if initial_response:
            code, _ = smtp.docmd("AUTH", f"XOAUTH2 {response}")
        else:
            code, _ = smtp.docmd("AUTH", "XOAUTH2")
            if code == 334:
                code, _ = smtp.docmd(response)
        if code == 334:  # a refusal's error details: the empty line ends the exchange
            code, _ = smtp.docmd("")
        return code


def test_imap_takes_a_live_token_and_refuses_others(servers, provider, person):
    token = live_token(provider, person)
    assert imap_login(servers, provider.ca, token)
    assert not imap_login(servers, provider.ca, token[:-4] + "AAAA")
    provider.revoke_all_for_user("alice")
    assert not imap_login(servers, provider.ca, token)


def test_submission_servers_check_the_token(servers, provider, person):
    token = live_token(provider, person)
    # Two steps: both servers take a live token and refuse a made-up one.
    for server in ("dovecot", "postfix"):
        assert smtp_login(servers, provider.ca, server, token, initial_response=False) == 235, server
        assert smtp_login(servers, provider.ca, server, "made-up", initial_response=False) == 535, server
    # The whole response on the AUTH line (over 512 bytes with a real token): Postfix takes it,
    # Dovecot's submission refuses the line itself (500 5.5.2 Line too long).
    assert len(base64.b64encode(xoauth2(token))) > 512
    assert smtp_login(servers, provider.ca, "postfix", token, initial_response=True) == 235
    assert smtp_login(servers, provider.ca, "dovecot", token, initial_response=True) == 500
    provider.revoke_all_for_user("alice")
    assert smtp_login(servers, provider.ca, "postfix", token, initial_response=False) == 535


def test_git_server_checks_the_token(servers, provider, person):
    token = live_token(provider, person)
    url = servers["git"] + "/info/refs?service=git-upload-pack"
    session = requests.Session()
    session.trust_env = False
    session.verify = provider.ca
    assert session.get(url, timeout=30).status_code == 401
    assert session.get(url, headers={"Authorization": "Bearer made-up"}, timeout=30).status_code == 401
    ok = session.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert ok.status_code == 200 and b"refs/heads/main" in ok.content
    # git before 2.46 sends the token as the Basic password.
    assert session.get(url, auth=("anyone", token), timeout=30).status_code == 200
    provider.revoke_all_for_user("alice")
    assert session.get(url, auth=("anyone", token), timeout=30).status_code == 401
