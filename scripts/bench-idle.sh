#!/usr/bin/env bash
# The daemon's wake-ups while idle (issue 18), counted by the kernel: the sum of voluntary and
# non-voluntary context switches of all its threads (/proc/PID/task/*/status) over a quiet
# spell, with 1 and with 10,000 signed-in accounts. Nothing asks the daemon anything meanwhile
# and every token is valid for an hour, so nothing is due: what it counts is the scheduler's
# own waking. Part of `make bench` (scripts/bench.sh); runs on its own too:
#
#   bash scripts/bench-idle.sh BIN-DIR [LABEL] [SECONDS]     # e.g. .build/release "after" 60
#
# Prints one JSON line per account count: {"label", "accounts", "seconds", "switches", "per_minute"}.
# BENCH_IDLE_THREADS=1 also prints each thread's switches (TID, name) to stderr.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
BIN=$(cd "$1" && pwd)
LABEL=${2:-latchkey}
SECONDS_IDLE=${3:-60}
PY="$REPO/.testenv/venv/bin/python"
[ -x "$PY" ] || PY=python3
WORK=$(mktemp -d /tmp/latchkey-bench-idle.XXXXXX)
DAEMON=
cleanup() {
    if [ -n "$DAEMON" ]; then kill "$DAEMON" 2>/dev/null || true; wait "$DAEMON" 2>/dev/null || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT

switches() { # PID: voluntary + non-voluntary context switches of all its threads
    cat /proc/"$1"/task/*/status 2>/dev/null | awk '/^(voluntary|nonvoluntary)_ctxt_switches/ { n += $2 } END { print n }'
}
per_thread() { # PID: one line per thread, "TID NAME SWITCHES"
    for status in /proc/"$1"/task/*/status; do
        awk -v tid="$(basename "$(dirname "$status")")" '/^Name:/ { name = $2 }
            /^(voluntary|nonvoluntary)_ctxt_switches/ { n += $2 } END { print tid, name, n }' "$status" 2>/dev/null || true
    done
}

for count in 1 10000; do
    root="$WORK/$count"
    mkdir -p "$root/run" "$root/config/latchkey" "$root/data"
    chmod 700 "$root/run"
    # A file store holding COUNT signed-in accounts (a refresh token and an hour-long access
    # token each), sealed as FileStore does, and a config naming them. The token endpoint is a
    # closed port: nothing is due within the hour, so nothing is sent.
    "$PY" - "$root" "$count" <<'EOF'
import json, os, sys, time
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
root, count = sys.argv[1], int(sys.argv[2])
key = os.urandom(32)
with open(f"{root}/latchkey.key", "wb") as f:
    f.write(key)
os.chmod(f"{root}/latchkey.key", 0o600)
now = time.time()
accounts, config = {}, ['[broker]', 'store = "file"', f'key_file = "{root}/latchkey.key"',
                        f'store_file = "{root}/data/store.bin"', 'notify = "none"', '']
for i in range(count):
    name = f"acct{i:05d}"
    access = {"access_token": f"at-{i}", "token_type": "Bearer", "issued_at": now, "expires_at": now + 3600,
              "scopes": ["openid", "offline_access"]}
    accounts[name] = {"access_token": json.dumps(access, separators=(",", ":")), "refresh_token": f"rt-{i}"}
    config += [f"[accounts.{name}]", 'method = "oauth"', 'provider = "oidc"', 'client_id = "bench"',
               'token_endpoint = "http://127.0.0.1:9/token"', 'scopes = ["openid", "offline_access"]', '']
plain = json.dumps({"accounts": accounts}, separators=(",", ":"), sort_keys=True).encode()
nonce = os.urandom(12)
sealed = AESGCM(key).encrypt(nonce, plain, b"LKS1")
with open(f"{root}/data/store.bin", "wb") as f:
    f.write(b"LKS1" + nonce + sealed[-16:] + sealed[:-16])
os.chmod(f"{root}/data/store.bin", 0o600)
with open(f"{root}/config/latchkey/config.toml", "w") as f:
    f.write("\n".join(config))
EOF
    env -i PATH="$PATH" HOME="$root" XDG_RUNTIME_DIR="$root/run" XDG_CONFIG_HOME="$root/config" \
        XDG_DATA_HOME="$root/data" LANG=C.UTF-8 "$BIN/latchkeyd" serve --log-level warning \
        >> "$root/latchkeyd.log" 2>&1 < /dev/null &
    DAEMON=$!
    for _ in $(seq 600); do [ -S "$root/run/latchkey/latchkey.sock" ] && break; sleep 0.1; done
    sleep 10  # start-up and the restore from the store are over
    s0=$(switches "$DAEMON")
    t0=$(per_thread "$DAEMON")
    sleep "$SECONDS_IDLE"
    s1=$(switches "$DAEMON")
    if [ -n "${BENCH_IDLE_THREADS:-}" ]; then  # which threads woke, to stderr
        join <(echo "$t0" | sort) <(per_thread "$DAEMON" | sort) |
            awk -v n="$count" '{ printf "bench-idle: %s accounts: thread %s %s: %d switches\n", n, $1, $2, $5 - $3 }' >&2
    fi
    if grep -qi "refresh failed\|could not read" "$root/latchkeyd.log"; then
        echo "bench-idle: the daemon with $count accounts was not idle:" >&2; tail -3 "$root/latchkeyd.log" >&2; exit 1
    fi
    printf '{"label":"%s","accounts":%s,"seconds":%s,"switches":%s,"per_minute":%s}\n' "$LABEL" "$count" \
        "$SECONDS_IDLE" "$((s1 - s0))" "$(awk "BEGIN { printf \"%.1f\", ($s1 - $s0) * 60 / $SECONDS_IDLE }")"
    kill "$DAEMON"; wait "$DAEMON" 2>/dev/null || true
    DAEMON=
done
