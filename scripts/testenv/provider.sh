#!/usr/bin/env bash
# Start or stop the OAuth 2.0 / OIDC test provider (Tests/Support/provider/provider.py).
#   provider.sh start   # venv, CA, free port (or $PROVIDER_PORT), wait until ready, export
#                       # LATCHKEY_TEST_PROVIDER_URL and LATCHKEY_TEST_CA into $LATCHKEY_TESTENV/env.sh
#   provider.sh stop    # stop it by the PID in $LATCHKEY_TESTENV/provider.pid
source "$(dirname "$0")/common.sh"
[ -n "$LATCHKEY_TESTENV" ] || die "LATCHKEY_TESTENV is not set"

PIDFILE="$LATCHKEY_TESTENV/provider.pid"
LOGFILE="$LATCHKEY_TESTENV/provider.log"
CA="$LATCHKEY_TESTENV/ca"

# Ready when discovery answers over TLS verified against the test CA; a dead provider ends
# the wait at once (wait_for treats success as "stop waiting"), and is then reported.
provider_ready() {
    kill -0 "$1" 2>/dev/null || return 0
    curl -sf --max-time 2 --noproxy '*' --cacert "$CA/ca.pem" \
        "https://127.0.0.1:$2/.well-known/openid-configuration" -o /dev/null
}

start() {
    bash "$REPO/scripts/testenv/venv.sh"
    [ -f "$CA/server.pem" ] && [ -f "$CA/microsoft.pem" ] || bash "$REPO/scripts/testenv/ca.sh"
    stop_pidfile "$PIDFILE"

    local port=${PROVIDER_PORT:-$(free_port)} pid
    # Something already answering there would pass the readiness check in our place.
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        die "port $port on 127.0.0.1 is already in use"
    fi
    "$VENV/bin/python" -u "$REPO/Tests/Support/provider/provider.py" \
        --port "$port" --cert "$CA/server.pem" --key "$CA/server.key" --host 127.0.0.1 \
        --microsoft-cert "$CA/microsoft.pem" --microsoft-key "$CA/microsoft.key" \
        </dev/null >>"$LOGFILE" 2>&1 &
    pid=$!
    echo "$pid" > "$PIDFILE"

    if ! wait_for 30 provider_ready "$pid" "$port" || ! kill -0 "$pid" 2>/dev/null; then
        tail -n 20 "$LOGFILE" >&2 || true
        stop_pidfile "$PIDFILE"
        die "the test provider did not become ready on port $port (log: $LOGFILE)"
    fi
    export_var LATCHKEY_TEST_PROVIDER_URL "https://127.0.0.1:$port"
    export_var LATCHKEY_TEST_CA "$CA/ca.pem"
    log "provider ready at https://127.0.0.1:$port (pid $pid)"
}

case "${1:-}" in
    start) start ;;
    stop) stop_pidfile "$PIDFILE" ;;
    *) die "usage: $0 start|stop" ;;
esac
