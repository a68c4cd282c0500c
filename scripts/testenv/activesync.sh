#!/usr/bin/env bash
# A real Exchange ActiveSync server for the tests: php-horde-activesync 2.41 (EAS up to 16.0)
# behind Tests/Support/activesync/front.php, run by PHP's built-in server on 127.0.0.1 over
# plain http (Latchkey allows plain http to loopback only). It takes the test provider's Bearer
# tokens (checked against /userinfo), serves the policy in $S/policy.json and has a small admin
# endpoint (X-Admin-Key) to change the policy and order a wipe.
#
#   activesync.sh start    fresh state (SQLite), free port, wait until OPTIONS answers
#   activesync.sh stop     stop it by its PID file
#
# Needs provider.sh start. Exports LATCHKEY_TEST_ACTIVESYNC_URL (the base URL, no path),
# LATCHKEY_TEST_ACTIVESYNC_ADMIN_KEY and LATCHKEY_TEST_ACTIVESYNC_STATE.
source "$(dirname "$0")/common.sh"
[ -n "$LATCHKEY_TESTENV" ] || die "LATCHKEY_TESTENV is not set"

S="$LATCHKEY_TESTENV/activesync"
PIDFILE="$S/php.pid"

# Ready when the EAS endpoint answers (401 without a token); a dead server ends the wait.
ready() {
    kill -0 "$1" 2>/dev/null || return 0
    local code
    code=$(curl -s --max-time 2 --noproxy '*' -o /dev/null -w '%{http_code}' -X OPTIONS \
        "http://127.0.0.1:$2/Microsoft-Server-ActiveSync")
    [ "$code" = 401 ]
}

start() {
    command -v php >/dev/null || die "php is not installed (scripts/install-deps.sh)"
    [ -n "${LATCHKEY_TEST_PROVIDER_URL:-}" ] || source "$LATCHKEY_TESTENV/env.sh"
    stop_pidfile "$PIDFILE"
    rm -rf "$S"
    mkdir -p "$S"
    php -r '$d = new PDO("sqlite:" . $argv[1]); $d->exec(file_get_contents($argv[2]));' \
            "$S/eas.sqlite" "$REPO/Tests/Support/activesync/schema.sql"
    head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$S/admin.key"
    echo '{"DevicePasswordEnabled": 1, "MinDevicePasswordLength": 6, "MaxDevicePasswordFailedAttempts": 8}' \
        > "$S/policy.json"
    local port pid
    port=$(free_port)
    AS_STATE="$S" AS_PROVIDER="$LATCHKEY_TEST_PROVIDER_URL" AS_CA="$LATCHKEY_TESTENV/ca/ca.pem" \
        php -d display_errors=stderr -d log_errors=On -S "127.0.0.1:$port" \
        "$REPO/Tests/Support/activesync/front.php" </dev/null >>"$S/php.log" 2>&1 &
    pid=$!
    echo "$pid" > "$PIDFILE"
    if ! wait_for 30 ready "$pid" "$port" || ! kill -0 "$pid" 2>/dev/null; then
        tail -n 20 "$S/php.log" >&2 || true
        stop_pidfile "$PIDFILE"
        die "the ActiveSync server did not become ready on port $port (log: $S/php.log)"
    fi
    export_var LATCHKEY_TEST_ACTIVESYNC_URL "http://127.0.0.1:$port"
    export_var LATCHKEY_TEST_ACTIVESYNC_ADMIN_KEY "$(cat "$S/admin.key")"
    export_var LATCHKEY_TEST_ACTIVESYNC_STATE "$S"
    log "ActiveSync server ready at http://127.0.0.1:$port (pid $pid)"
}

case "${1:-}" in
    start) start ;;
    stop) stop_pidfile "$PIDFILE" ;;
    *) die "usage: $0 start|stop" ;;
esac
