"""Helpers for scripts/bench.sh, run with the test environment's venv (.testenv/venv).

    benchtool.py signin ROOT BIN ACCOUNT        `latchkey login ACCOUNT` against the daemon of ROOT,
                                                the code approved as alice (password + TOTP)
    benchtool.py provider get|reset|counters    the test provider's control API (JSON to stdout)
    benchtool.py provider config KEY=INT...     change provider settings
    benchtool.py refresh-token SCOPE            a device-code sign-in of the provider's confidential
                                                test client, approved as alice; prints only the
                                                refresh token (for oidc-gen --rt-env)

The provider is found through LATCHKEY_TEST_PROVIDER_URL and LATCHKEY_TEST_CA, as the e2e tests
find it. The sign-in reuses the e2e tests' own code (Tests/e2e/support), so it signs in exactly as
they do. Nothing secret is printed, except the one refresh token `refresh-token` exists to hand
over on a pipe.
"""

import json
import os
import sys
import time

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(REPO, "Tests", "e2e"))

from support.provider import CONFIDENTIAL_CLIENT, CONFIDENTIAL_SECRET, DEVICE_GRANT, TIMEOUT, Provider  # noqa: E402


def signin(root, bin_dir, account):
    from pathlib import Path

    from support.latchkey import Latchkey

    provider = Provider.from_env()
    instance = Latchkey(Path(root), bin_dir)
    code, _, stderr, user_code = instance.login(account, provider.person("alice"))
    if code != 0:
        # the login's own messages (prompts, errors) carry no secret: the code is single-use
        sys.stderr.write(f"benchtool: latchkey login {account} exited with {code}\n{stderr}")
        return 1
    return 0


def provider_command(args):
    provider = Provider.from_env()
    action = args[0]
    if action == "get":
        print(json.dumps(provider.settings()))
    elif action == "reset":
        print(json.dumps(provider.reset()))
    elif action == "counters":
        print(json.dumps(provider.counters()))
    elif action == "config":
        settings = {}
        for pair in args[1:]:
            key, _, value = pair.partition("=")
            settings[key] = int(value)
        print(json.dumps(provider.configure(**settings)))
    else:
        raise SystemExit(f"benchtool: unknown provider action {action}")
    return 0


def refresh_token(scope):
    """oidc-agent authenticates its client with a secret (HTTP Basic), so it gets the
    provider's confidential test client (a fixture of Tests/Support/provider, not a secret)."""
    provider = Provider.from_env()
    auth = (CONFIDENTIAL_CLIENT, CONFIDENTIAL_SECRET)
    resp = provider.session.post(provider.url + "/device_authorization", data={"scope": scope}, auth=auth,
                                 timeout=TIMEOUT)
    resp.raise_for_status()
    grant = resp.json()
    if not provider.person("alice").approve_device(grant["user_code"]):
        raise SystemExit("benchtool: the provider did not approve the device code")
    deadline = time.time() + 30
    while time.time() < deadline:
        answer = provider.token({"grant_type": DEVICE_GRANT, "device_code": grant["device_code"]}, auth=auth)
        body = answer.json()
        if answer.status_code == 200 and body.get("refresh_token"):
            sys.stdout.write(body["refresh_token"])
            return 0
        if body.get("error") not in ("authorization_pending", "slow_down"):
            raise SystemExit(f"benchtool: device grant failed: {body.get('error')}")
        time.sleep(grant.get("interval", 1))
    raise SystemExit("benchtool: the device grant did not finish in 30 s")


def main(argv):
    if len(argv) >= 4 and argv[0] == "signin":
        return signin(argv[1], argv[2], argv[3])
    if len(argv) >= 2 and argv[0] == "provider":
        return provider_command(argv[1:])
    if len(argv) == 2 and argv[0] == "refresh-token":
        return refresh_token(argv[1])
    sys.stderr.write(__doc__)
    return 64


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
