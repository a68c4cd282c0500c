"""The thin client's outputs for other programs, end to end against the real provider and
daemon: SASL initial responses for IMAP/SMTP (XOAUTH2, OAUTHBEARER of RFC 7628) and git's
credential-helper protocol, driven by the real git.
"""

import base64
import json
import subprocess

from test_latchkey_device_flow import assert_no_secrets

EMAIL = "alice@contoso.example"
WORK = f'email = "{EMAIL}"\nurl = "https://mail.contoso.example:993/"\ngit_hosts = ["git.contoso.example"]'


def configure(latchkey, provider, with_bare=False):
    """`work` has an email, a url and a git host; `bare` (when asked for) has none of them."""
    text = '[broker]\nstore = "memory"\n' + latchkey.oauth_account("work", provider.url, provider.ca, extra=WORK)
    if with_bare:
        text += latchkey.oauth_account("bare", provider.url, provider.ca)
    latchkey.write_config(text)
    latchkey.start()


def signed_in(latchkey, provider, person):
    """The daemon with `work` signed in; the access token it hands out."""
    configure(latchkey, provider)
    provider.configure(interval=1)
    rc, _, err, _ = latchkey.login("work", person)
    assert rc == 0, err
    token = latchkey.run("token", "work")
    assert token.returncode == 0, token.stderr
    access = token.stdout.strip()
    assert provider.resource(access).status_code == 200
    return access


def sasl(latchkey, *args):
    done = latchkey.run("sasl", "work", *args)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 1  # one line, nothing else on stdout
    return base64.b64decode(lines[0], validate=True)


def credential(latchkey, *args, input):
    """`latchkey git-credential …` as git runs it: (exit status, stdout lines, stderr)."""
    done = latchkey.run("git-credential", *args, input=input)
    return done.returncode, done.stdout.splitlines(), done.stderr


def git_fill(latchkey, request):
    """`git credential fill` with only our helper and no prompting: (exit status, answer)."""
    helper = f"{latchkey.bin}/latchkey git-credential"
    env = {**latchkey.env, "GIT_TERMINAL_PROMPT": "0", "GIT_CONFIG_NOSYSTEM": "1", "GIT_ASKPASS": "", "SSH_ASKPASS": ""}
    argv = ["git", "-c", "credential.helper=", "-c", f"credential.helper={helper}", "credential", "fill"]
    done = subprocess.run(argv, input=request, capture_output=True, text=True, env=env, timeout=60)
    answer = dict(line.split("=", 1) for line in done.stdout.splitlines() if "=" in line)
    return done.returncode, answer


def test_sasl_xoauth2(latchkey, provider, person):
    token = signed_in(latchkey, provider, person)
    assert sasl(latchkey) == f"user={EMAIL}\x01auth=Bearer {token}\x01\x01".encode()
    assert sasl(latchkey, "--mechanism", "xoauth2", "--user", "bob@contoso.example") == \
        f"user=bob@contoso.example\x01auth=Bearer {token}\x01\x01".encode()

    answer = json.loads(latchkey.run("sasl", "work", "--json").stdout)
    assert answer["mechanism"] == "XOAUTH2"
    assert base64.b64decode(answer["response"]) == f"user={EMAIL}\x01auth=Bearer {token}\x01\x01".encode()
    assert_no_secrets(latchkey, provider)


def test_sasl_oauthbearer_follows_rfc_7628(latchkey, provider, person):
    token = signed_in(latchkey, provider, person)
    # RFC 7628 §4.1: n,a=user@example.com,^Ahost=server.example.com^Aport=143^Aauth=Bearer …^A^A
    # Host and port come from the account's url.
    assert sasl(latchkey, "--mechanism", "oauthbearer") == \
        f"n,a={EMAIL},\x01host=mail.contoso.example\x01port=993\x01auth=Bearer {token}\x01\x01".encode()
    assert sasl(latchkey, "--mechanism", "oauthbearer", "--host", "imap.contoso.example", "--port", "143") == \
        f"n,a={EMAIL},\x01host=imap.contoso.example\x01port=143\x01auth=Bearer {token}\x01\x01".encode()
    # The GS2 header's authzid escapes ',' as =2C and '=' as =3D (RFC 5801 saslname).
    assert sasl(latchkey, "--mechanism", "oauthbearer", "--user", "team,a=b@contoso.example") == \
        (f"n,a=team=2Ca=3Db@contoso.example,\x01host=mail.contoso.example\x01port=993"
         f"\x01auth=Bearer {token}\x01\x01").encode()

    answer = json.loads(latchkey.run("sasl", "work", "--mechanism", "oauthbearer", "--json").stdout)
    assert answer["mechanism"] == "OAUTHBEARER"
    assert latchkey.run("sasl", "work", "--mechanism", "plain").returncode == 64
    assert latchkey.run("sasl", "work", "--port", "0").returncode == 64
    assert_no_secrets(latchkey, provider)


def test_sasl_without_email_and_git_before_sign_in(latchkey, provider):
    configure(latchkey, provider, with_bare=True)
    # No email in the account and no --user: a configuration error that says what to set.
    bare = latchkey.run("sasl", "bare")
    assert bare.returncode == 78 and bare.stdout == ""
    assert "email" in bare.stderr and "--user" in bare.stderr

    # Not signed in yet: git is told on stderr (git shows it), nothing on stdout, exit 77.
    rc, out, err = credential(latchkey, "get", input="protocol=https\nhost=git.contoso.example\n\n")
    assert rc == 77 and out == [] and "latchkey login work" in err
    # A host no account serves needs no sign-in: not ours, nothing printed.
    assert credential(latchkey, "get", input="protocol=https\nhost=github.com\n\n") == (0, [], "")
    assert latchkey.run("sasl", "bare", "--user", "bob@contoso.example").returncode == 77


def test_real_git_gets_the_token(latchkey, provider, person):
    token = signed_in(latchkey, provider, person)

    rc, answer = git_fill(latchkey, "protocol=https\nhost=git.contoso.example\n\n")
    assert rc == 0
    assert answer["password"] == token and answer["username"] == EMAIL
    assert answer["host"] == "git.contoso.example" and answer["protocol"] == "https"

    # The account's url serves its host too, with git's port.
    rc, answer = git_fill(latchkey, "protocol=https\nhost=mail.contoso.example:993\n\n")
    assert rc == 0 and answer["password"] == token

    # A host no account serves: git gets nothing from us (and fails, as prompting is off).
    rc, answer = git_fill(latchkey, "protocol=https\nhost=github.com\n\n")
    assert rc != 0 and "password" not in answer
    assert credential(latchkey, "get", input="protocol=https\nhost=github.com\n\n") == (0, [], "")
    assert_no_secrets(latchkey, provider)


def test_git_credential_protocol(latchkey, provider, person):
    token = signed_in(latchkey, provider, person)
    expires_at = int(json.loads(latchkey.run("token", "work", "--json").stdout)["expires_at"])

    # git 2.46+ announces the authtype capability: a ready Bearer credential.
    rc, out, err = credential(latchkey, "--account", "work", "get",
                              input="capability[]=authtype\nprotocol=https\nhost=elsewhere.example\n\n")
    assert rc == 0, err
    assert out == ["capability[]=authtype", "authtype=Bearer", f"credential={token}",
                   f"password_expiry_utc={expires_at}"]

    # Older git: username and password, with the expiry git 2.41+ understands.
    rc, out, err = credential(latchkey, "--account", "work", "get", input="protocol=https\nhost=elsewhere.example\n")
    assert rc == 0, err
    assert out == [f"username={EMAIL}", f"password={token}", f"password_expiry_utc={expires_at}"]

    # Host names compare without regard to case; a port matches a git_hosts entry without one.
    # Values may hold '=' and unknown keys are ignored.
    request = "protocol=https\nhost=GIT.Contoso.Example:8443\npath=a=b.git\nwwwauth[]=Bearer realm=\"x\"\n\n"
    rc, out, _ = credential(latchkey, "get", input=request)
    assert rc == 0 and f"password={token}" in out

    # Tokens come from the daemon: store and erase have nothing to do.
    filled = f"protocol=https\nhost=git.contoso.example\nusername={EMAIL}\n\n"
    assert credential(latchkey, "store", input=filled) == (0, [], "")
    assert credential(latchkey, "erase", input=filled) == (0, [], "")
    assert credential(latchkey, "future-operation", input=filled) == (0, [], "")

    # git never sends a line without '=': a usage error.
    rc, out, err = credential(latchkey, "get", input="protocol=https\nnonsense\n\n")
    assert rc == 64 and out == [] and "key=value" in err
    assert latchkey.run("git-credential", "--account", "bad/name", "get", input="\n").returncode == 64

    # Still the same token: nothing above made the daemon refresh or sign in again.
    assert provider.counters()["token_refresh"] == 0
    assert_no_secrets(latchkey, provider)


def test_git_credential_never_hands_a_token_to_a_plain_http_remote(latchkey, provider, person):
    provider.configure(interval=1)
    latchkey.write_config('[broker]\nstore = "memory"\n' + latchkey.oauth_account(
        "work", provider.url, provider.ca, extra='email = "alice@contoso.example"\ngit_hosts = ["git.contoso.example"]'))
    latchkey.start()
    assert latchkey.login("work", person)[0] == 0
    plain = latchkey.run("git-credential", "get", input="protocol=http\nhost=git.contoso.example\n\n")
    assert plain.returncode == 0 and plain.stdout == ""
    assert "not handing a token to a http:// remote" in plain.stderr
    named = latchkey.run("git-credential", "--account", "work", "get", input="protocol=http\nhost=git.contoso.example\n\n")
    assert named.stdout == ""
    secure = latchkey.run("git-credential", "get", input="protocol=https\nhost=git.contoso.example\n\n")
    assert "password=" in secure.stdout


def test_a_signed_out_token_says_so_on_one_line_that_msmtp_shows(latchkey, provider, tmp_path):
    """Issue 17: signed out, `latchkey token` exits 77 with one plain stderr line naming the
    remedy, the form PassCmd-style tools pass on; msmtp (passwordeval) shows it, then its own."""
    configure(latchkey, provider)
    done = latchkey.run("token", "work")
    assert done.returncode == 77 and done.stdout == ""
    lines = done.stderr.splitlines()
    assert lines == ["latchkey: 'work' is not signed in. Run `latchkey login work`."], lines

    rc = tmp_path / "msmtprc"
    rc.write_text("account work\nhost 127.0.0.1\nport 9\ntls on\nauth xoauth2\nuser alice@contoso.example\n"
                  "from alice@contoso.example\npasswordeval latchkey token work\n")
    rc.chmod(0o600)
    env = dict(latchkey.env, PATH=f"{latchkey.bin}:{latchkey.env.get('PATH', '/usr/bin:/bin')}")
    sent = subprocess.run(["msmtp", "-C", str(rc), "-a", "work", "bob@example.org"], input="Subject: t\n\nx\n",
                          capture_output=True, text=True, env=env, timeout=30)
    assert sent.returncode != 0
    assert sent.stderr.splitlines() == ["latchkey: 'work' is not signed in. Run `latchkey login work`.",
                                        "msmtp: cannot read output of 'latchkey token work'"], sent.stderr
