#!/usr/bin/python3
"""CGI in front of git-http-backend for the test git server (scripts/testenv/git.sh).

The request's token — a Bearer header, or the password of a Basic header, which is how git
before 2.46 sends a token from a credential helper — is checked against the test provider's
/userinfo. A live token runs git-http-backend as the token's user (REMOTE_USER, which also
enables push); anything else is answered 401 with a Basic and a Bearer challenge, so that git
asks its credential helper. The token never goes on a command line or into a log.
"""

import base64
import json
import os
import ssl
import sys
import urllib.error
import urllib.request

BACKEND = "/usr/lib/git-core/git-http-backend"


def token_of(header):
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() == "bearer":
        return value.strip() or None
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            return None
        _, colon, password = decoded.partition(":")
        return password if colon and password else None
    return None


def user_of(token):
    """The token's email from the provider, or None when the provider refuses the token."""
    context = ssl.create_default_context(cafile=os.environ["LATCHKEY_GIT_CA"])
    request = urllib.request.Request(os.environ["LATCHKEY_GIT_PROVIDER"] + "/userinfo",
                                     headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, context=context, timeout=10) as answer:
            email = json.load(answer).get("email")
    except (urllib.error.URLError, ValueError, OSError):
        return None
    return email if isinstance(email, str) and email else None


def refuse():
    sys.stdout.write('Status: 401 Unauthorized\r\nWWW-Authenticate: Basic realm="Latchkey git"\r\n'
                     'WWW-Authenticate: Bearer realm="Latchkey git"\r\n'
                     'Content-Type: text/plain\r\n\r\nA valid token is needed.\n')
    sys.stdout.flush()
    sys.exit(0)


def main():
    token = token_of(os.environ.pop("HTTP_AUTHORIZATION", ""))
    user = user_of(token) if token else None
    if user is None:
        refuse()
    env = dict(os.environ, REMOTE_USER=user, GIT_HTTP_EXPORT_ALL="1")
    os.execve(BACKEND, [BACKEND], env)


if __name__ == "__main__":
    main()
