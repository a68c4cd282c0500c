#!/usr/bin/env bash
# Start or stop the TLS/clock fault servers (Tests/Support/tlsfaults/servers.py), one process.
#   tlsfaults.sh start  # venv, CA, fresh certificates in $LATCHKEY_TESTENV/tlsfaults, free ports,
#                       # wait until each server answers, export into $LATCHKEY_TESTENV/env.sh:
#                       #   LATCHKEY_TEST_TLS_EXPIRED_URL    leaf from the test CA, expired
#                       #   LATCHKEY_TEST_TLS_UNTRUSTED_URL  leaf from another CA ...
#                       #   LATCHKEY_TEST_TLS_UNTRUSTED_CA   ... whose certificate this is
#                       #   LATCHKEY_TEST_TLS_WRONGHOST_URL  valid leaf for other.example only
#                       #   LATCHKEY_TEST_TLS_SKEWED_URL     valid leaf, Date header 2 h ahead
#                       #   LATCHKEY_TEST_TLS_GOOD_URL       valid leaf, correct Date (control)
#                       #   LATCHKEY_TEST_CLOSED_PORT        a port on 127.0.0.1 where nothing listens
#                       #   LATCHKEY_TEST_CA                 the test CA (as provider.sh does)
#   tlsfaults.sh stop   # stop it by the PID in $LATCHKEY_TESTENV/tlsfaults.pid
source "$(dirname "$0")/common.sh"
[ -n "$LATCHKEY_TESTENV" ] || die "LATCHKEY_TESTENV is not set"

PIDFILE="$LATCHKEY_TESTENV/tlsfaults.pid"
LOGFILE="$LATCHKEY_TESTENV/tlsfaults.log"
DIR="$LATCHKEY_TESTENV/tlsfaults"
PORTS="$DIR/ports.json"
CA="$LATCHKEY_TESTENV/ca"
NAMES="expired untrusted wronghost skewed good"

# Ready when servers.py has written its ports (it does so once all of them listen); a dead
# process ends the wait at once and is then reported.
ports_written() {
    pid_alive "$1" || return 0
    [ -s "$PORTS" ]
}

port_of() {
    "$VENV/bin/python" -c 'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' \
        "$PORTS" "$1"
}

# A server is ready when it completes a TLS handshake and answers 401. -k: several of them fail
# verification on purpose; what each one proves is the e2e test's job.
answers_401() {
    pid_alive "$1" || return 0
    [ "$(curl -sk --max-time 2 --noproxy '*' -o /dev/null -w '%{http_code}' \
        "https://127.0.0.1:$2/")" = 401 ]
}

fail() {
    tail -n 20 "$LOGFILE" >&2 || true
    stop_pidfile "$PIDFILE"
    die "$1 (log: $LOGFILE)"
}

start() {
    bash "$REPO/scripts/testenv/venv.sh"
    [ -f "$CA/ca.pem" ] && [ -f "$CA/ca.key" ] || bash "$REPO/scripts/testenv/ca.sh"
    stop_pidfile "$PIDFILE"
    mkdir -p "$DIR"
    rm -f "$PORTS"

    local pid name port
    "$VENV/bin/python" -u "$REPO/Tests/Support/tlsfaults/servers.py" \
        --dir "$DIR" --ca-cert "$CA/ca.pem" --ca-key "$CA/ca.key" --host 127.0.0.1 \
        </dev/null >>"$LOGFILE" 2>&1 &
    pid=$!
    echo "$pid" > "$PIDFILE"

    if ! wait_for 30 ports_written "$pid" || ! pid_alive "$pid"; then
        fail "the TLS fault servers did not start"
    fi
    for name in $NAMES; do
        port=$(port_of "$name") || fail "no port for $name in $PORTS"
        if ! wait_for 30 answers_401 "$pid" "$port" || ! pid_alive "$pid"; then
            fail "the $name TLS server did not answer on port $port"
        fi
    done
    port=$(port_of closed) || fail "no closed port in $PORTS"
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        fail "the closed port $port on 127.0.0.1 accepts connections"
    fi

    export_var LATCHKEY_TEST_TLS_EXPIRED_URL "https://127.0.0.1:$(port_of expired)/"
    export_var LATCHKEY_TEST_TLS_UNTRUSTED_URL "https://127.0.0.1:$(port_of untrusted)/"
    export_var LATCHKEY_TEST_TLS_UNTRUSTED_CA "$DIR/untrusted-ca.pem"
    export_var LATCHKEY_TEST_TLS_WRONGHOST_URL "https://127.0.0.1:$(port_of wronghost)/"
    export_var LATCHKEY_TEST_TLS_SKEWED_URL "https://127.0.0.1:$(port_of skewed)/"
    export_var LATCHKEY_TEST_TLS_GOOD_URL "https://127.0.0.1:$(port_of good)/"
    export_var LATCHKEY_TEST_CLOSED_PORT "$(port_of closed)"
    export_var LATCHKEY_TEST_CA "$CA/ca.pem"
    log "TLS fault servers ready (pid $pid): $(cat "$PORTS")"
}

case "${1:-}" in
    start) start ;;
    stop) stop_pidfile "$PIDFILE" ;;
    *) die "usage: $0 start|stop" ;;
esac
