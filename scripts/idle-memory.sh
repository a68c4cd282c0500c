#!/usr/bin/env bash
# Idle memory of latchkeyd builds side by side in one run (docs/performance.md "Idle memory"):
# the scenario of `make bench` — file store, one OAuth account signed in once, each daemon
# started on that store, one header request (the token is restored, no provider call), 1 s idle —
# then VmRSS, PSS and anonymous memory from /proc/PID/smaps_rollup, and what each mapping costs
# (Rss/Pss per file from /proc/PID/smaps), rounds alternating between the builds. Then the same
# daemon once more after one provider call (a token for another scope set: a refresh grant), the
# steady state of a daemon that has refreshed once (libcurl loaded).
#
#   scripts/idle-memory.sh LABEL=PATH/latchkeyd [LABEL=PATH/latchkeyd …]
#   (LATCHKEY_IDLE_ROUNDS, default 3; LATCHKEY_IDLE_CLIENT, default .build/static/release/latchkey)
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
cd "$REPO"
[ $# -ge 1 ] || { echo "usage: idle-memory.sh LABEL=PATH/latchkeyd…" >&2; exit 64; }
ROUNDS=${LATCHKEY_IDLE_ROUNDS:-3}
CLIENT=$(realpath "${LATCHKEY_IDLE_CLIENT:-.build/static/release/latchkey}")
PY="$REPO/.testenv/venv/bin/python"
WORK=$(mktemp -d /tmp/latchkey-idle.XXXXXX)
chmod 755 "$WORK"
DAEMON_PID=
export LATCHKEY_TESTENV LATCHKEY_TESTENV_GIVEN=1
LATCHKEY_TESTENV=$(mktemp -d /tmp/latchkey-testenv.XXXXXX)
cleanup() {
    [ -n "$DAEMON_PID" ] && kill "$DAEMON_PID" 2>/dev/null && wait "$DAEMON_PID" 2>/dev/null
    LATCHKEY_TESTENV=$LATCHKEY_TESTENV bash scripts/testenv/down.sh > /dev/null 2>&1 || true
    rm -rf "$WORK"
}
trap cleanup EXIT
LATCHKEY_TESTENV_PARTS="provider" bash scripts/testenv/up.sh > /dev/null
set -a
# shellcheck disable=SC1091
source "$LATCHKEY_TESTENV/env.sh"
set +a

mkdir -p "$WORK/run" "$WORK/config/latchkey" "$WORK/data" "$WORK/bin"
chmod 700 "$WORK/run"
(umask 077 && head -c 32 /dev/urandom > "$WORK/latchkey.key")
# shellcheck source=scripts/bench-config.sh
source "$REPO/scripts/bench-config.sh"
oauth_config "$WORK" > "$WORK/config/latchkey/config.toml"
env_of() { printf '%s\n' "PATH=/usr/bin:/bin" "HOME=$WORK" "XDG_RUNTIME_DIR=$WORK/run" "XDG_CONFIG_HOME=$WORK/config" \
    "XDG_DATA_HOME=$WORK/data" "LANG=C.UTF-8"; }
start() { # DAEMON
    mapfile -t env < <(env_of)
    env -i "${env[@]}" "$1" serve >> "$WORK/latchkeyd.log" 2>&1 < /dev/null &
    DAEMON_PID=$!
    for _ in $(seq 500); do
        env -i "${env[@]}" "$CLIENT" status --no-autostart > /dev/null 2>&1 && return
        sleep 0.02
    done
    echo "latchkeyd $1 did not answer" >&2; tail -5 "$WORK/latchkeyd.log" >&2; exit 1
}
stop() { kill "$DAEMON_PID"; wait "$DAEMON_PID" 2>/dev/null || true; DAEMON_PID=; }

# Sign in once, with the first build (benchtool runs BIN/latchkey login and approves as alice).
first=${1#*=}
ln -s "$CLIENT" "$WORK/bin/latchkey"
ln -s "$(realpath "$first")" "$WORK/bin/latchkeyd"
start "$first"
"$PY" Benchmarks/support/benchtool.py signin "$WORK" "$WORK/bin" work
stop

measure() { # LABEL ROUND
    "$PY" - "$DAEMON_PID" "$1" "$2" <<'EOF'
import collections, os, sys
pid, label, rnd = sys.argv[1:]
roll = {}
for line in open(f"/proc/{pid}/smaps_rollup"):
    parts = line.split()
    if len(parts) >= 3 and parts[-1] == "kB":
        roll[parts[0].rstrip(":")] = int(parts[1])
rss = next(int(l.split()[1]) for l in open(f"/proc/{pid}/status") if l.startswith("VmRSS"))
by = collections.defaultdict(lambda: [0, 0])
name = None
for line in open(f"/proc/{pid}/smaps"):
    fields = line.split()
    if "-" in fields[0] and len(fields[0]) > 8 and ":" not in fields[0]:
        name = os.path.basename(fields[5]) if len(fields) > 5 else "[anon]"
    elif fields[0] in ("Rss:", "Pss:"):
        by[name][0 if fields[0] == "Rss:" else 1] += int(fields[1])
libs = sum(1 for n in by if ".so" in n)
print(f"{label} round {rnd}: VmRSS {rss / 1024:.1f} MB, PSS {roll['Pss'] / 1024:.1f} MB, "
      f"anonymous {roll['Anonymous'] / 1024:.1f} MB, shared libraries {libs}")
if rnd == "1":
    for n, (r, p) in sorted(by.items(), key=lambda kv: -kv[1][0])[:int(os.environ.get("LATCHKEY_IDLE_TOP", "12"))]:
        print(f"    {r / 1024:6.2f} MB rss {p / 1024:6.2f} MB pss  {n}")
EOF
}

# Every build's file wholly in the page cache: the kernel maps cached pages around each fault
# (fault-around), so a file half evicted would show a smaller RSS for no merit of its own.
for build in "$@"; do cat "${build#*=}" > /dev/null; done
mapfile -t env < <(env_of)
for round in $(seq "$ROUNDS"); do
    for build in "$@"; do
        label=${build%%=*}; path=${build#*=}
        start "$path"
        env -i "${env[@]}" "$CLIENT" header work > /dev/null
        sleep 1
        measure "$label" "$round"
        env -i "${env[@]}" "$CLIENT" token work --scope mail.read > /dev/null
        sleep 1
        measure "$label, after a provider call" "$round"
        stop
    done
done
