#!/usr/bin/env bash
# Starts every test server on loopback: the OAuth provider, the MIT KDC, Apache with
# mod_auth_gssapi, a private D-Bus session with gnome-keyring, the TLS/clock fault servers,
# Dovecot and Postfix (mail.sh), a git smart-HTTP server (git.sh) and an ActiveSync server
# (activesync.sh).
# Prints the env file to source.
source "$(dirname "$0")/common.sh"
mkdir -p "$REPO/.testenv"
# A folder given in LATCHKEY_TESTENV (the demo's) is used as it is; otherwise a new one is made
# and recorded in .testenv/current, so down.sh and a later shell find it.
if [ -z "${LATCHKEY_TESTENV_GIVEN:-}" ]; then
    LATCHKEY_TESTENV=$(mktemp -d /tmp/latchkey-testenv.XXXXXX)
    echo "$LATCHKEY_TESTENV" > "$REPO/.testenv/current"
fi
export LATCHKEY_TESTENV
mkdir -p "$LATCHKEY_TESTENV"
chmod 755 "$LATCHKEY_TESTENV"
: > "$LATCHKEY_TESTENV/env.sh"
export_var LATCHKEY_TESTENV "$LATCHKEY_TESTENV"
bash "$REPO/scripts/testenv/venv.sh"
bash "$REPO/scripts/testenv/ca.sh"
for part in ${LATCHKEY_TESTENV_PARTS:-provider kerberos apache keyring tlsfaults mail git activesync}; do
    bash "$REPO/scripts/testenv/$part.sh" start
done
echo "$LATCHKEY_TESTENV/env.sh"
