"""The client recipes of README.md ("Recipes for common clients"), read from the README itself
so that the tests run exactly what a person copies; only the host, the port, the CA file and
the user are replaced (`localize`).

    text = recipe("msmtp")            # the fenced block whose first line is "# msmtp …"
    line = recipe_line("git config")  # one command line of the shell block
"""

import re
from pathlib import Path

README = Path(__file__).resolve().parents[3] / "README.md"
SECTION = "### Recipes for common clients"

# What the README names, and what a test puts in its place.
HOSTS = ("outlook.office365.com", "smtp.office365.com")
IMAP_PORT = "993"
SUBMISSION_PORT = "587"
SYSTEM_CA = "/etc/ssl/certs/ca-certificates.crt"
USER = "alice@contoso.example"


def _section():
    text = README.read_text()
    start = text.index(SECTION)
    end = text.find("\n## ", start)
    return text[start:end if end >= 0 else len(text)]


def blocks():
    """Every fenced code block of the recipes section, without its fences."""
    return re.findall(r"^```[a-z]*\n(.*?)^```$", _section(), flags=re.M | re.S)


def recipe(client):
    """The block whose first line is the comment naming `client` ("# msmtp (~/.msmtprc)…")."""
    found = [b for b in blocks() if b.startswith(f"# {client} ")]
    assert len(found) == 1, f"README.md has {len(found)} recipes for {client}, not one"
    return found[0]


def recipe_line(prefix):
    """The one command line of the recipes that starts with `prefix`."""
    found = [line for b in blocks() for line in b.splitlines() if line.startswith(prefix)]
    assert len(found) == 1, f"README.md has {len(found)} recipe lines starting with {prefix!r}"
    return found[0]


def not_tested():
    """The recipes section's statements of what is not tested, one per sentence."""
    return re.findall(r"\(not tested[^)]*\)", _section())


def localize(text, *, host, imap_port=None, submission_port=None, ca=None, user=USER):
    """The recipe pointed at the test servers: host names, the two well-known ports (as
    whole numbers), the system CA bundle, and the user."""
    for name in HOSTS:
        text = text.replace(name, host)
    if imap_port is not None:
        text = re.sub(rf"\b{IMAP_PORT}\b", str(imap_port), text)
    if submission_port is not None:
        text = re.sub(rf"\b{SUBMISSION_PORT}\b", str(submission_port), text)
    if ca is not None:
        text = text.replace(SYSTEM_CA, ca)
    if user != USER:
        text = text.replace(USER, user).replace(USER.replace("@", "%40"), user.replace("@", "%40"))
    return text
