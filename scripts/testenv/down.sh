#!/usr/bin/env bash
# Stops what up.sh started (by PID files), then removes the run's folder.
source "$(dirname "$0")/common.sh"
[ -n "$LATCHKEY_TESTENV" ] && [ -d "$LATCHKEY_TESTENV" ] || exit 0
for part in activesync git mail tlsfaults keyring apache kerberos provider; do
    bash "$REPO/scripts/testenv/$part.sh" stop || true
done
case "$LATCHKEY_TESTENV" in
    /tmp/latchkey-testenv.*|/tmp/latchkey-demo.*) rm -rf "$LATCHKEY_TESTENV" ;;
esac
if [ "$(cat "$REPO/.testenv/current" 2>/dev/null)" = "$LATCHKEY_TESTENV" ]; then
    rm -f "$REPO/.testenv/current"
fi
