#!/usr/bin/env bash
# `make demo`: build, start a local OAuth provider (Authlib, HTTPS with a throwaway CA) and the
# daemon, and walk a real device-code sign-in with password + TOTP to a token on the socket.
# DEMO_AUTO_APPROVE=1 plays the person's part (for headless machines; also used without a terminal).
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
cd "$REPO"
export PATH=/opt/swift/usr/bin:$PATH
bold() { printf '\n\033[1m%s\033[0m\n' "$*" >&2; }

bash scripts/install-deps.sh
bold "Building Latchkey (debug)…"
swift build 2>&1 | grep -E 'error|Compiling|Build' | tail -3 >&2 || true
swift build >/dev/null 2>&1 || { swift build; exit 1; }
BIN="$REPO/.build/debug"

export LATCHKEY_TESTENV_PARTS=provider LATCHKEY_TESTENV_GIVEN=1
LATCHKEY_TESTENV=$(mktemp -d /tmp/latchkey-demo.XXXXXX)
export LATCHKEY_TESTENV
env_file=$(PROVIDER_PORT=${PROVIDER_PORT:-8443} bash scripts/testenv/up.sh)
source "$env_file"
demo="$LATCHKEY_TESTENV/demo"
mkdir -p -m 700 "$demo/run" "$demo/config"
daemon_pid=""
cleanup() {
    [ -n "$daemon_pid" ] && kill "$daemon_pid" 2>/dev/null && wait "$daemon_pid" 2>/dev/null || true
    bash "$REPO/scripts/testenv/down.sh"
}
trap cleanup EXIT

cat > "$demo/config/config.toml" <<TOML
[broker]
store = "memory"

[accounts.demo]
method = "oauth"
provider = "oidc"
issuer = "$LATCHKEY_TEST_PROVIDER_URL"
client_id = "latchkey-test"
scopes = ["openid", "offline_access", "mail.read"]
ca_file = "$LATCHKEY_TEST_CA"
TOML
mkdir -p "$demo/config/latchkey" && mv "$demo/config/config.toml" "$demo/config/latchkey/config.toml"
export XDG_RUNTIME_DIR="$demo/run" XDG_CONFIG_HOME="$demo/config"
socket="$XDG_RUNTIME_DIR/latchkey/latchkey.sock"

bold "Starting the daemon (log: $demo/latchkeyd.log)"
"$BIN/latchkeyd" serve > "$demo/latchkeyd.log" 2>&1 &
daemon_pid=$!
for _ in $(seq 100); do [ -S "$socket" ] && break; sleep 0.1; done
"$BIN/latchkey" status --no-autostart >&2

if [ "${DEMO_AUTO_APPROVE:-0}" != 1 ] && ! [ -t 0 ]; then
    echo "No terminal: completing the person's part automatically (DEMO_AUTO_APPROVE=1)." >&2
    DEMO_AUTO_APPROVE=1
fi
bold "Signing in to 'demo' with the device flow"
cat >&2 <<TEXT
The local provider's sign-in page asks for:
  user name:  alice
  password:   correct horse battery staple
  code:       the current TOTP code of secret JBSWY3DPEHPK3PXP — print it with
              $REPO/.testenv/venv/bin/python -c 'import pyotp; print(pyotp.TOTP("JBSWY3DPEHPK3PXP").now())'
Your browser will warn about the throwaway CA ($LATCHKEY_TEST_CA); that is expected here.
TEXT
if [ "${DEMO_AUTO_APPROVE:-0}" = 1 ]; then
    "$BIN/latchkey" login demo --no-autostart 2> >(tee "$demo/login.txt" >&2) &
    login_pid=$!
    "$REPO/.testenv/venv/bin/python" "$REPO/Tests/Support/demo_approve.py" "$demo/login.txt" \
        "$LATCHKEY_TEST_PROVIDER_URL" "$LATCHKEY_TEST_CA"
    wait "$login_pid"
else
    "$BIN/latchkey" login demo --no-autostart
fi

bold "latchkey header demo"
"$BIN/latchkey" header demo --no-autostart
bold "curl --unix-socket $socket http://localhost/v1/accounts/demo/header"
curl -s --unix-socket "$socket" http://localhost/v1/accounts/demo/header; echo
bold "The provider's protected resource, called with that header"
curl -s --cacert "$LATCHKEY_TEST_CA" -H "$("$BIN/latchkey" header demo --no-autostart)" "$LATCHKEY_TEST_PROVIDER_URL/resource"; echo
bold "latchkey status"
"$BIN/latchkey" status --no-autostart
bold "Done. The daemon and the provider are stopped now."
