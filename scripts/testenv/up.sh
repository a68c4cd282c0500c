#!/usr/bin/env bash
# Starts every test server on loopback: the OAuth provider, the MIT KDC, Apache with
# mod_auth_gssapi and a private D-Bus session with gnome-keyring. Prints the env file to source.
source "$(dirname "$0")/common.sh"
mkdir -p "$REPO/.testenv"
if [ -z "$LATCHKEY_TESTENV" ] || [ ! -d "$LATCHKEY_TESTENV" ]; then
    LATCHKEY_TESTENV=$(mktemp -d /tmp/latchkey-testenv.XXXXXX)
fi
export LATCHKEY_TESTENV
chmod 755 "$LATCHKEY_TESTENV"
echo "$LATCHKEY_TESTENV" > "$REPO/.testenv/current"
: > "$LATCHKEY_TESTENV/env.sh"
export_var LATCHKEY_TESTENV "$LATCHKEY_TESTENV"
bash "$REPO/scripts/testenv/venv.sh"
bash "$REPO/scripts/testenv/ca.sh"
for part in ${LATCHKEY_TESTENV_PARTS:-provider kerberos apache keyring}; do
    bash "$REPO/scripts/testenv/$part.sh" start
done
echo "$LATCHKEY_TESTENV/env.sh"
