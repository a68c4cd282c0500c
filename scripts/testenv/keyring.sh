#!/usr/bin/env bash
# A private D-Bus session bus and gnome-keyring-daemon (Secret Service only), headless,
# entirely under $LATCHKEY_TESTENV/keyring (used as HOME and XDG_* for the daemon).
#
#   keyring.sh start           start the bus and the daemon; the "login" collection exists,
#                              is unlocked (password keyring-test-pw) and is the default
#   keyring.sh stop            stop the daemon and the bus (by PID)
#   keyring.sh lock            lock the login collection (over D-Bus)
#   keyring.sh unlock          unlock it (gnome-keyring's UnlockWithMasterPassword, over D-Bus)
#   keyring.sh stop-keyring    stop only gnome-keyring-daemon; the bus and stored items stay
#   keyring.sh start-keyring   start it again, unlocked (items persist in
#                              $LATCHKEY_TEST_KEYRING_HOME/.local/share/keyrings)
#
# The bus has its own config with NO service directories: nothing is auto-started, so with
# the daemon stopped a client gets "The name org.freedesktop.secrets was not provided by any
# .service files" (as on a desktop without a keyring), instead of the system's gnome-keyring
# being activated behind our back.
#
# Exports: LATCHKEY_TEST_DBUS_ADDRESS (use it as DBUS_SESSION_BUS_ADDRESS in the processes
# that need it; it is NOT exported as DBUS_SESSION_BUS_ADDRESS globally),
# LATCHKEY_TEST_KEYRING_HOME, LATCHKEY_TEST_KEYRING_PASSWORD.
# The D-Bus helper needs jeepney: $VENV/bin/python (scripts/testenv/venv.sh), or the
# interpreter named by LATCHKEY_TESTENV_PYTHON.
source "$(dirname "$0")/common.sh"
[ -n "$LATCHKEY_TESTENV" ] || die "LATCHKEY_TESTENV is not set"

KR="$LATCHKEY_TESTENV/keyring"
RUN="$KR/run"                      # XDG_RUNTIME_DIR (0700)
BUS_SOCKET="$RUN/bus"
BUS_ADDRESS="unix:path=$BUS_SOCKET"
BUS_PID="$KR/dbus-daemon.pid"
BUS_LOG="$KR/dbus-daemon.log"
GKD_PID="$KR/gnome-keyring-daemon.pid"
GKD_LOG="$KR/gnome-keyring-daemon.log"
PASSWORD=keyring-test-pw
PY="${LATCHKEY_TESTENV_PYTHON:-$VENV/bin/python}"
CTL="$(cd "$(dirname "$0")" && pwd)/keyring_ctl.py"


ctl() {
    [ -x "$PY" ] || die "no Python with jeepney at $PY; run scripts/testenv/venv.sh (or set LATCHKEY_TESTENV_PYTHON)"
    "$PY" "$CTL" --address "$BUS_ADDRESS" "$@"
}

# The daemons' environment: everything private to the run folder. An array, not a function,
# so that "env ... daemon &" is a plain command and $! is the daemon's own PID.
DAEMON_ENV=(env -u DISPLAY -u WAYLAND_DISPLAY -u GNOME_KEYRING_CONTROL -u SSH_AUTH_SOCK
    HOME="$KR" XDG_DATA_HOME="$KR/.local/share" XDG_CONFIG_HOME="$KR/.config"
    XDG_CACHE_HOME="$KR/.cache" XDG_RUNTIME_DIR="$RUN" DBUS_SESSION_BUS_ADDRESS="$BUS_ADDRESS")

bus_up() {
    python3 - "$BUS_SOCKET" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.close()
EOF
}

start_bus() {
    alive "$BUS_PID" && return 0
    mkdir -p "$KR" "$RUN" "$KR/.local/share/keyrings" "$KR/.config" "$KR/.cache"
    chmod 700 "$KR" "$RUN"
    rm -f "$BUS_SOCKET"
    cat > "$KR/bus.conf" <<EOF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <keep_umask/>
  <listen>$BUS_ADDRESS</listen>
  <auth>EXTERNAL</auth>
  <pidfile>$BUS_PID</pidfile>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
EOF
    # --fork daemonizes (new session, stdio detached); the config's <pidfile> records the PID.
    "${DAEMON_ENV[@]}" dbus-daemon --config-file="$KR/bus.conf" --fork < /dev/null >> "$BUS_LOG" 2>&1 \
        || die "dbus-daemon did not start; read $BUS_LOG"
    wait_for 10 bus_up || die "the D-Bus socket $BUS_SOCKET does not answer; read $BUS_LOG"
    wait_for 5 test -s "$BUS_PID" || die "dbus-daemon wrote no PID file; read $BUS_LOG"
}

start_keyring() {
    alive "$GKD_PID" && return 0
    alive "$BUS_PID" || die "the test D-Bus is not running; run '$0 start'"
    [ -x "$PY" ] || die "no Python with jeepney at $PY; run scripts/testenv/venv.sh (or set LATCHKEY_TESTENV_PYTHON)"
    # --foreground so that $! is the daemon itself; --unlock reads the password from stdin
    # (no trailing newline: it would become part of the password) and creates the login
    # keyring with it the first time. setsid: no terminal signals reach it.
    printf '%s' "$PASSWORD" | "${DAEMON_ENV[@]}" setsid gnome-keyring-daemon --foreground \
        --components=secrets --unlock >> "$GKD_LOG" 2>&1 &
    echo $! > "$GKD_PID"
    # (until the exec chain env -> setsid -> daemon is done, /proc/PID/exe names env or setsid)
    wait_for 5 sh -c "readlink /proc/$!/exe | grep -q gnome-keyring-daemon" \
        || die "PID $! is not gnome-keyring-daemon (setsid forked?); read $GKD_LOG"
    if ! wait_for 10 ctl ready; then
        stop_pidfile "$GKD_PID"
        die "gnome-keyring-daemon is not ready on the test bus; read $GKD_LOG"
    fi
    [ "$(ctl status)" = unlocked ] || printf '%s' "$PASSWORD" | ctl unlock \
        || die "the login collection stays locked; read $GKD_LOG"
    ctl ensure-default || die "cannot make the login collection the default; read $GKD_LOG"
}

case "${1:-}" in
start)
    start_bus
    if [ ! -f "$KR/exported" ]; then
        export_var LATCHKEY_TEST_DBUS_ADDRESS "$BUS_ADDRESS"
        export_var LATCHKEY_TEST_KEYRING_HOME "$KR"
        export_var LATCHKEY_TEST_KEYRING_PASSWORD "$PASSWORD"
        touch "$KR/exported"
    fi
    start_keyring
    log "Secret Service (gnome-keyring) on $BUS_ADDRESS, HOME=$KR"
    ;;
stop)
    stop_pidfile "$GKD_PID"
    stop_pidfile "$BUS_PID"
    rm -f "$BUS_SOCKET"
    ;;
stop-keyring)
    stop_pidfile "$GKD_PID"
    ;;
start-keyring)
    start_keyring
    ;;
lock)
    ctl lock
    ;;
unlock)
    printf '%s' "$PASSWORD" | ctl unlock
    ;;
status)
    ctl status
    ;;
*)
    echo "usage: $0 start|stop|lock|unlock|status|stop-keyring|start-keyring" >&2
    exit 64
    ;;
esac
