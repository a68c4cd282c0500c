# Shared helpers for the test environment scripts. Source it; do not run it.
# Layout: every run's state lives in $LATCHKEY_TESTENV (a temp folder made by up.sh, 0755 so
# www-data can traverse it); the Python venv lives in $REPO/.testenv/venv and is reused.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
VENV="$REPO/.testenv/venv"
if [ -z "${LATCHKEY_TESTENV:-}" ] && [ -f "$REPO/.testenv/current" ]; then
    LATCHKEY_TESTENV=$(cat "$REPO/.testenv/current")
fi
export LATCHKEY_TESTENV="${LATCHKEY_TESTENV:-}"

log() { printf 'testenv: %s\n' "$*" >&2; }
die() { printf 'testenv: error: %s\n' "$*" >&2; exit 1; }

# A free TCP port on loopback (the kernel picks it; a small race is accepted for tests).
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# Append `export NAME=VALUE` to the run's env file, which tests source.
export_var() {
    printf 'export %s=%q\n' "$1" "$2" >> "$LATCHKEY_TESTENV/env.sh"
}

# Wait until a command succeeds, at most $1 seconds (polling every 0.1 s): readiness, not sleeps.
wait_for() {
    local limit=$1; shift
    local deadline=$(( $(date +%s) + limit ))
    until "$@" >/dev/null 2>&1; do
        [ "$(date +%s)" -lt "$deadline" ] || return 1
        sleep 0.1
    done
}

# Whether a PID is a live process. A zombie counts as gone: PID 1 on these machines reaps
# orphans only about once a second, and `kill -0` succeeds on a zombie.
pid_alive() {
    local state
    [ -r "/proc/$1/stat" ] || return 1
    state=$(sed 's/^.*) //' "/proc/$1/stat" | cut -d' ' -f1)
    [ "$state" != Z ]
}

# The process of a PID file is alive (exists and is not a zombie).
alive() {
    local pid
    # Postfix pads its PID file with spaces.
    pid=$(tr -d ' \n' 2>/dev/null < "$1") || return 1
    [ -n "$pid" ] && pid_alive "$pid"
}

# Stop a process we started, by the PID in a pid file; never by name.
stop_pidfile() {
    local pidfile=$1 pid
    [ -f "$pidfile" ] || return 0
    pid=$(tr -d ' \n' < "$pidfile")
    if [ -n "$pid" ] && pid_alive "$pid"; then
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 50); do pid_alive "$pid" || break; sleep 0.1; done
        pid_alive "$pid" && kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$pidfile"
}

# A value the run's env file exports (e.g. LATCHKEY_TEST_PROVIDER_URL from provider.sh), or "".
env_value() {
    # shellcheck disable=SC1091
    (source "$LATCHKEY_TESTENV/env.sh" && printf '%s' "${!1:-}")
}

# Whether this machine has the IPv6 loopback (some containers have none).
have_ipv6_loopback() {
    python3 -c 'import socket; socket.socket(socket.AF_INET6).bind(("::1", 0))' 2>/dev/null
}

# Checks and starts a standalone Apache httpd (apache.sh, git.sh), then waits until the command
# after the first four arguments succeeds and the PID file is written:
#   apache_start CONF LOGDIR PIDFILE NAME READY-COMMAND...
# Environment assignments before the call reach httpd (`K=V apache_start …`); with
# APACHE_USER set, httpd is started as that user (no root parent; ports above 1024 only).
apache_start() {
    local conf=$1 logs=$2 pidfile=$3 name=$4 as=()
    shift 4
    [ -n "${APACHE_USER:-}" ] && as=(runuser -u "$APACHE_USER" --)
    "${as[@]}" apache2 -t -f "$conf" > "$logs/configtest.log" 2>&1 \
        || die "the configuration of $name is invalid; read $logs/configtest.log"
    # -k start daemonizes; the PidFile holds the parent's PID.
    "${as[@]}" apache2 -f "$conf" -k start < /dev/null >> "$logs/startup.log" 2>&1 \
        || die "$name did not start; read $logs/startup.log and $logs/error.log"
    if ! wait_for 10 "$@"; then
        stop_pidfile "$pidfile"
        die "$name does not answer; read $logs/error.log"
    fi
    wait_for 5 test -s "$pidfile" || die "$name wrote no PID file; read $logs/error.log"
}
