#!/usr/bin/env bash
# `make bench` (issue 10): builds release binaries, starts the test servers on loopback, measures
# Latchkey against the floors the machine allows, prints one table and writes
# .build/bench/results.json. docs/performance.md explains every row. About 3.5 minutes once built.
#
#   cached header over the socket, keep-alive, 1/8/64 connections  vs  a C epoll server
#   `latchkey token NAME` per process            vs  curl --unix-socket, a C client, oidc-token
#   Negotiate headers with a cached service ticket
#   1000 concurrent requests on an expired token: provider calls and latencies
#   daemon RSS with 1 and 10,000 accounts, `latchkey status` with 10,000
#   micro-benchmarks of the hot path (Benchmarks/, ordo-one/benchmark)
#
# Settings (environment):
#   LATCHKEY_BENCH_SOURCE        tree to build and measure (default: this repository; e.g. a
#                                `git archive` of a commit, to measure it while others edit)
#   LATCHKEY_BENCH_SCRATCH       swift build folder of the main package (default .build/bench/swift)
#   LATCHKEY_BENCH_MICRO_SCRATCH swift build folder of Benchmarks/ (default .build/bench/micro)
#   LATCHKEY_BENCH_ROUNDS        rounds of each side-by-side comparison (default 3: medians of three)
#   LATCHKEY_BENCH_SECONDS       seconds per load run (default 3, after 0.5 s of warm-up)
#   LATCHKEY_BENCH_SKIP_MICRO=1  skip the micro-benchmarks
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
cd "$REPO"
export PATH=/opt/swift/usr/bin:$PATH
OUT="$REPO/.build/bench"
SRC="${LATCHKEY_BENCH_SOURCE:-$REPO}"
SCRATCH="${LATCHKEY_BENCH_SCRATCH:-$OUT/swift}"
MICRO_SCRATCH="${LATCHKEY_BENCH_MICRO_SCRATCH:-$OUT/micro}"
ROUNDS="${LATCHKEY_BENCH_ROUNDS:-3}"
RUN_SECONDS="${LATCHKEY_BENCH_SECONDS:-3}"
RAW="$OUT/raw"
PY="$REPO/.testenv/venv/bin/python"
TOOL="$REPO/Benchmarks/support/benchtool.py"
STARTED_AT=$(date +%s)

say() { printf '== %s\n' "$*" >&2; }
now() { date +%s.%N; }
calc() { awk "BEGIN { printf \"%.4f\", ($*) }"; }

# ------------------------------------------------------------------ what the bench needs
bash scripts/install-deps.sh
extras=(hyperfine oidc-agent-cli procps)
command -v cc >/dev/null 2>&1 || extras+=(gcc libc6-dev)
missing=()
for p in "${extras[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    say "installing ${missing[*]}"
    if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# ------------------------------------------------------------------ build
mkdir -p "$OUT"
rm -rf "$RAW"
mkdir -p "$RAW"
say "build: release binaries from $SRC"
# As `make release` builds them: the daemon with the Swift runtime linked in.
if ! swift build -c release --static-swift-stdlib --package-path "$SRC" --scratch-path "$SCRATCH" > "$OUT/build.log" 2>&1; then
    grep -E 'error:' "$OUT/build.log" | head -20 >&2 || tail -40 "$OUT/build.log" >&2
    exit 1
fi
BIN="$SCRATCH/release"
# The thin client as `make release` ships it: one static executable (Swift runtime and libc
# linked in, `-static-executable`), so a sync tool's `latchkey token` pays no dynamic loading at
# all. (The daemon, built above, links the Swift runtime in but loads its C libraries.)
if ! swift build -c release --product latchkey -Xswiftc -static-executable --package-path "$SRC" \
        --scratch-path "$SCRATCH-static" >> "$OUT/build.log" 2>&1; then
    grep -E 'error:' "$OUT/build.log" | head -20 >&2 || tail -40 "$OUT/build.log" >&2
    exit 1
fi
CLI="$SCRATCH-static/release/latchkey"
cc -O2 -Wall -o "$OUT/loadgen" Benchmarks/C/loadgen.c
cc -O2 -Wall -o "$OUT/refserver" Benchmarks/C/refserver.c
LOADGEN="$OUT/loadgen"

# ------------------------------------------------------------------ test servers, clean-up
export LATCHKEY_TESTENV LATCHKEY_TESTENV_GIVEN=1
LATCHKEY_TESTENV=$(mktemp -d /tmp/latchkey-testenv.XXXXXX)
WORK=$(mktemp -d /tmp/latchkey-bench.XXXXXX)
chmod 755 "$WORK"
PIDS_FILE="$WORK/pids"   # every process this script starts, one PID per line
: > "$PIDS_FILE"
servers_up=0
cleanup() {
    local pid
    while read -r pid; do
        [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
    done < "$PIDS_FILE"
    : > "$PIDS_FILE"
    if [ "$servers_up" = 1 ]; then bash "$REPO/scripts/testenv/down.sh" || true; servers_up=0; fi
}
trap 'cleanup; rm -rf "$WORK"' EXIT
trap 'exit 130' INT TERM
say "test servers: OAuth provider, KDC, Apache"
servers_up=1
LATCHKEY_TESTENV_PARTS="provider kerberos apache" bash scripts/testenv/up.sh > /dev/null
set -a
# shellcheck disable=SC1091
source "$LATCHKEY_TESTENV/env.sh"
set +a
ulimit -n 20000 2>/dev/null || ulimit -n 4096

# ------------------------------------------------------------------ daemons
# Each daemon has its own folder $WORK/NAME (runtime, config, data) and a clean environment.
root_of() { echo "$WORK/$1"; }
sock_of() { echo "$WORK/$1/run/latchkey/latchkey.sock"; }

prepare_root() { # NAME CONFIG-TEXT [KEY=VALUE…: extra environment of the daemon]
    local root; root=$(root_of "$1")
    mkdir -p "$root/run" "$root/config/latchkey" "$root/data"
    chmod 700 "$root/run"
    printf '%s\n' "$2" > "$root/config/latchkey/config.toml"
    shift 2
    printf '%s\n' "$@" > "$root/daemon.env"
}

daemon_env() { # NAME: the daemon's and its clients' environment, as env(1) arguments
    local root; root=$(root_of "$1")
    printf '%s\n' "PATH=$PATH" "HOME=$root" "XDG_RUNTIME_DIR=$root/run" "XDG_CONFIG_HOME=$root/config" \
        "XDG_DATA_HOME=$root/data" "LANG=C.UTF-8"
    grep -v '^$' "$root/daemon.env" || true
}

healthy() { "$LOADGEN" -s "$1" -1 -p /v1/health > /dev/null 2>&1; }

start_daemon() { # NAME [latchkeyd serve options…]; sets DAEMON_PID and STARTUP_S
    local name=$1 root sock env=() t0 limit=120
    shift
    root=$(root_of "$name"); sock=$(sock_of "$name")
    mapfile -t env < <(daemon_env "$name")
    t0=$(now)
    env -i "${env[@]}" "$BIN/latchkeyd" serve "$@" >> "$root/latchkeyd.log" 2>&1 < /dev/null &
    DAEMON_PID=$!
    echo "$DAEMON_PID" >> "$PIDS_FILE"
    until healthy "$sock"; do
        if ! kill -0 "$DAEMON_PID" 2>/dev/null; then
            echo "latchkeyd ($name) exited; the end of its log:" >&2; tail -5 "$root/latchkeyd.log" >&2; exit 1
        fi
        if awk "BEGIN { exit !($(now) - $t0 > $limit) }"; then
            echo "latchkeyd ($name) did not answer within $limit s" >&2; exit 1
        fi
        sleep 0.02
    done
    STARTUP_S=$(calc "$(now) - $t0")
}

stop_pid() { # PID [SIGNAL]
    kill "-${2:-TERM}" "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
    sed -i "/^$1\$/d" "$PIDS_FILE"
}

rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
# PSS (shared pages divided among the processes that map them) and anonymous memory: RSS counts
# every resident page of the executable and its libraries, which other processes share.
pss_kb() { awk '/^Pss:/ {print $2}' "/proc/$1/smaps_rollup"; }
anon_kb() { awk '/^Anonymous:/ {print $2}' "/proc/$1/smaps_rollup"; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
TICKS=$(getconf CLK_TCK)

# One load run against the server with PID $1: loadgen's JSON plus the server's CPU use (cores)
# and the extra fields given, appended to $RAW/socket.jsonl.
load_run() { # PID EXTRA-JSON loadgen-args…
    local pid=$1 extra=$2 c0 c1 t0 t1 line
    shift 2
    c0=$(cpu_ticks "$pid"); t0=$(now)
    # loadgen exits 1 when an answer was wrong; its JSON says which, and the report shows it.
    line=$("$LOADGEN" "$@" -d "$RUN_SECONDS" -w 0.5) || true
    [ -n "$line" ] || { echo "loadgen printed nothing for $*" >&2; exit 1; }
    c1=$(cpu_ticks "$pid"); t1=$(now)
    printf '%s\n' "${line%\}},\"server_cpu\":$(calc "($c1 - $c0) / $TICKS / ($t1 - $t0)"),$extra}" \
        >> "$RAW/socket.jsonl"
}

key_file() { (umask 077 && head -c 32 /dev/urandom > "$1"); }

# shellcheck source=scripts/bench-config.sh
source "$REPO/scripts/bench-config.sh"

provider() { "$PY" "$TOOL" provider "$@"; }
refreshes() { provider counters | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["token_refresh"])'; }

# ------------------------------------------------------------------ sign-ins
say "sign-ins (device code, password + TOTP, as the e2e tests do)"
provider reset > /dev/null
provider config interval=1 > /dev/null
default_lifetime=$(provider get | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["access_token_lifetime"])')

for name in main burst; do
    prepare_root "$name" "$(oauth_config "$(root_of "$name")")"
    key_file "$(root_of "$name")/latchkey.key"
done
# "burst" signs in with 5-second tokens: they expire while its daemon is stopped.
for name in main burst; do
    [ "$name" = burst ] && provider config access_token_lifetime=5 > /dev/null
    start_daemon "$name"
    "$PY" "$TOOL" signin "$(root_of "$name")" "$BIN" work
    stop_pid "$DAEMON_PID" KILL
    provider config access_token_lifetime="$default_lifetime" > /dev/null
done

MAIN_SOCK=$(sock_of main)
ANSWER="$WORK/header-answer.http"

# ------------------------------------------------------------------ 1. cached header over the socket
say "cached header over the socket: Latchkey vs the C reference server, $ROUNDS rounds × 1/8/64 connections"
for round in $(seq "$ROUNDS"); do
    start_daemon main
    pid=$DAEMON_PID
    "$LOADGEN" -s "$MAIN_SOCK" -1 -p /v1/accounts/work/header > /dev/null  # warm: the token is restored
    sleep 1
    idle_rss=$(rss_kb "$pid"); idle_pss=$(pss_kb "$pid"); idle_anon=$(anon_kb "$pid")
    [ -f "$ANSWER" ] || "$LOADGEN" -s "$MAIN_SOCK" -D -p /v1/accounts/work/header > "$ANSWER"
    for c in 1 8 64; do
        load_run "$pid" "\"server\":\"latchkey\",\"round\":$round" -s "$MAIN_SOCK" -c "$c" -p /v1/accounts/work/header
    done
    printf '{"round":%s,"idle_rss_kb":%s,"idle_pss_kb":%s,"idle_anon_kb":%s,"loaded_rss_kb":%s,"startup_s":%s}\n' \
        "$round" "$idle_rss" "$idle_pss" "$idle_anon" "$(rss_kb "$pid")" "$STARTUP_S" >> "$RAW/rss_main.jsonl"
    stop_pid "$pid"
    # The same daemon without its per-request audit line (log level warning): what that line costs.
    start_daemon main --log-level warning
    load_run "$DAEMON_PID" "\"server\":\"latchkey-log-warning\",\"round\":$round" -s "$MAIN_SOCK" -c 64 -p /v1/accounts/work/header
    stop_pid "$DAEMON_PID"
    # The floor: the same answer, byte for byte, from a minimal C epoll server on the same path.
    "$OUT/refserver" -s "$MAIN_SOCK" -r "$ANSWER" &
    ref=$!
    echo "$ref" >> "$PIDS_FILE"
    until healthy "$MAIN_SOCK"; do sleep 0.02; done
    for c in 1 8 64; do
        load_run "$ref" "\"server\":\"reference\",\"round\":$round" -s "$MAIN_SOCK" -c "$c" -p /v1/accounts/work/header
    done
    stop_pid "$ref"
done

# ------------------------------------------------------------------ 2. one process per token
say "latchkey token per process call vs curl --unix-socket, a C client and oidc-token, $ROUNDS rounds"
start_daemon main
main_pid=$DAEMON_PID
mapfile -t client_env < <(daemon_env main)
# Every program measured must hand out the same token.
cli_token=$(env -i "${client_env[@]}" "$CLI" token work)
curl_token=$(curl -s --unix-socket "$MAIN_SOCK" http://localhost/v1/accounts/work/token | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
[ -n "$cli_token" ] && [ "$cli_token" = "$curl_token" ] || { say "latchkey token did not print the daemon's token"; exit 1; }
unset cli_token curl_token
commands=(
    "$CLI token work"
    "curl -s --unix-socket $MAIN_SOCK http://localhost/v1/accounts/work/token"
    "$LOADGEN -s $MAIN_SOCK -1 -p /v1/accounts/work/token"
)
# oidc-agent with a refresh token of the same provider (its confidential test client: oidc-agent
# authenticates clients with a secret), loaded without saving (--no-save), so oidc-token answers
# from the agent's cache like latchkey does from the daemon's.
oidc_note=""
OIDC_HOME="$WORK/oidc"
mkdir -p "$OIDC_HOME"
if command -v oidc-agent > /dev/null && command -v oidc-token > /dev/null; then
    agent_json=$(env -i PATH="$PATH" HOME="$OIDC_HOME" oidc-agent --json -a "$OIDC_HOME/agent.sock" 2>&1) || true
    agent_pid=$(printf '%s' "$agent_json" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["dpid"])' 2>/dev/null || true)
    if [ -n "$agent_pid" ]; then
        echo "$agent_pid" >> "$PIDS_FILE"
        if OIDC_REFRESH_TOKEN=$("$PY" "$TOOL" refresh-token "openid offline_access") \
            && env -i PATH="$PATH" HOME="$OIDC_HOME" OIDC_SOCK="$OIDC_HOME/agent.sock" OIDC_REFRESH_TOKEN="$OIDC_REFRESH_TOKEN" \
                oidc-gen bench --iss="$LATCHKEY_TEST_PROVIDER_URL" --client-id=latchkey-confidential \
                --client-secret=s3cret-client-value --scope="openid offline_access" --rt-env \
                --cp="$LATCHKEY_TEST_CA" --no-save --prompt=none --confirm-default --no-url-call \
                < /dev/null > "$OIDC_HOME/oidc-gen.log" 2>&1 \
            && env -i PATH="$PATH" HOME="$OIDC_HOME" OIDC_SOCK="$OIDC_HOME/agent.sock" oidc-token bench > /dev/null 2>&1; then
            commands+=("oidc-token bench")
        else
            oidc_note="oidc-agent could not be configured against the test provider (see oidc-gen's output)"
            grep -v -i token "$OIDC_HOME/oidc-gen.log" >&2 || true
        fi
        unset OIDC_REFRESH_TOKEN
    else
        oidc_note="oidc-agent did not start: $agent_json"
    fi
else
    oidc_note="oidc-agent-cli is not installed"
fi
[ -n "$oidc_note" ] && say "without oidc-token: $oidc_note"
for round in $(seq "$ROUNDS"); do
    env -i "${client_env[@]}" OIDC_SOCK="$OIDC_HOME/agent.sock" \
        hyperfine -N --style none --warmup 20 --runs 200 --export-json "$RAW/cli_$round.json" "${commands[@]}" > /dev/null
done
printf '{"oidc_note":"%s"}\n' "$oidc_note" > "$RAW/cli_notes.json"

# ------------------------------------------------------------------ 3. 10,000 accounts
say "10,000 accounts: start-up, RSS, idle CPU, latchkey status"
many_config=$("$PY" - <<'EOF'
lines = ['[broker]', 'store = "memory"', 'notify = "none"', '']
for i in range(10000):
    lines += [f'[accounts.acct{i:05d}]', 'method = "oauth"', 'provider = "microsoft"', 'tenant = "organizations"',
              f'client_id = "00000000-0000-0000-0000-{i:012d}"',
              'scopes = ["https://outlook.office.com/IMAP.AccessAsUser.All", "offline_access"]', '']
print("\n".join(lines))
EOF
)
prepare_root many "$many_config"
start_daemon many
many_pid=$DAEMON_PID
many_startup=$STARTUP_S
sleep 2
many_idle_rss=$(rss_kb "$many_pid"); many_idle_pss=$(pss_kb "$many_pid"); many_idle_anon=$(anon_kb "$many_pid")
c0=$(cpu_ticks "$many_pid"); sleep 5; c1=$(cpu_ticks "$many_pid")
mapfile -t many_env < <(daemon_env many)
env -i "${many_env[@]}" "$BIN/latchkey" status > "$WORK/status.txt"
status_lines=$(wc -l < "$WORK/status.txt")
env -i "${many_env[@]}" hyperfine -N --style none --warmup 2 --runs 15 --export-json "$RAW/status.json" \
    "$CLI status" "$CLI status --json" > /dev/null
printf '{"startup_s":%s,"idle_rss_kb":%s,"idle_pss_kb":%s,"idle_anon_kb":%s,"after_status_rss_kb":%s,"idle_cpu":%s,"status_lines":%s}\n' \
    "$many_startup" "$many_idle_rss" "$many_idle_pss" "$many_idle_anon" "$(rss_kb "$many_pid")" "$(calc "($c1 - $c0) / $TICKS / 5")" \
    "$status_lines" > "$RAW/many.json"
stop_pid "$many_pid"

# ------------------------------------------------------------------ 4. Negotiate
say "Negotiate headers with a cached service ticket, $ROUNDS rounds × 1/8 connections"
krb_root=$(root_of krb)
prepare_root krb "$(cat <<EOF
[broker]
store = "memory"
notify = "none"

[accounts.krb]
method = "kerberos"
principal = "alice@$LATCHKEY_TEST_REALM"
url = "http://localhost:$LATCHKEY_TEST_APACHE_HTTP_PORT/krb/"
EOF
)" "KRB5_CONFIG=$LATCHKEY_TEST_KRB5_CONFIG" "KRB5CCNAME=FILE:$krb_root/krb5cc"
printf 'alice-Kerberos-1\n' | KRB5_CONFIG="$LATCHKEY_TEST_KRB5_CONFIG" KRB5CCNAME="FILE:$krb_root/krb5cc" \
    kinit "alice@$LATCHKEY_TEST_REALM" > /dev/null
start_daemon krb
mapfile -t krb_env < <(daemon_env krb)
# One header checked at the real service (Apache's mod_auth_gssapi): 200 means a valid token.
header=$(env -i "${krb_env[@]}" "$BIN/latchkey" header krb)
apache_status=$(curl -s -o /dev/null -w '%{http_code}' -H "$header" "http://localhost:$LATCHKEY_TEST_APACHE_HTTP_PORT/krb/")
unset header
for round in $(seq "$ROUNDS"); do
    for c in 1 8; do
        load_run "$DAEMON_PID" "\"server\":\"negotiate\",\"round\":$round" -s "$(sock_of krb)" -c "$c" \
            -p /v1/accounts/krb/header -S Negotiate
    done
done
printf '{"apache_status":%s}\n' "$apache_status" > "$RAW/negotiate.json"
stop_pid "$DAEMON_PID"

# ------------------------------------------------------------------ 5. 1000 requests on an expired token
say "1000 concurrent requests on an expired token, $ROUNDS rounds"
BURST_SOCK=$(sock_of burst)
for round in $(seq "$ROUNDS"); do
    if [ "$round" -gt 1 ]; then
        # Store a 5-second token again: a request that needs more than the token has left refreshes.
        provider config access_token_lifetime=5 > /dev/null
        start_daemon burst
        "$LOADGEN" -s "$BURST_SOCK" -1 -p "/v1/accounts/work/token?min_valid=86400" > /dev/null
        stop_pid "$DAEMON_PID" KILL
        provider config access_token_lifetime="$default_lifetime" > /dev/null
        sleep 6   # the stored token expires while no daemon runs
    fi
    before=$(refreshes)
    start_daemon burst
    line=$("$LOADGEN" -s "$BURST_SOCK" -b 1000 -p "/v1/accounts/work/token?min_valid=0" -k token) || true
    sleep 0.5
    after=$(refreshes)
    printf '%s\n' "${line%\}},\"round\":$round,\"provider_calls\":$((after - before))}" >> "$RAW/burst.jsonl"
    stop_pid "$DAEMON_PID"
done

stop_pid "$main_pid"
cleanup

# ------------------------------------------------------------------ 6. micro-benchmarks
if [ "${LATCHKEY_BENCH_SKIP_MICRO:-0}" != 1 ]; then
    say "micro-benchmarks (Benchmarks/, ordo-one/benchmark)"
    if ! swift package --package-path Benchmarks --scratch-path "$MICRO_SCRATCH" benchmark --no-progress \
        > "$RAW/micro.txt" 2> "$OUT/micro.log"; then
        tail -20 "$OUT/micro.log" >&2
        echo "the micro-benchmarks failed; the rest of the results stand" >&2
    fi
fi

# ------------------------------------------------------------------ 7. idle wake-ups (issue 18)
say "idle wake-ups: context switches of the daemon's threads over 60 s, 1 and 10,000 signed-in accounts"
bash "$REPO/scripts/bench-idle.sh" "$BIN" latchkey 60 | tee "$RAW/idle.jsonl" >&2

# ------------------------------------------------------------------ report
{
    printf '{"nproc":%s,' "$(nproc)"
    printf '"cpu":"%s",' "$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)"
    printf '"kernel":"%s",' "$(uname -r)"
    printf '"swift":"%s",' "$(swift --version 2>/dev/null | head -1 | sed 's/"/\\"/g')"
    printf '"source":"%s",' "$SRC"
    printf '"commit":"%s",' "$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)"
    printf '"date":"%s",' "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    printf '"rounds":%s,"run_seconds":%s,"wall_s":%s}\n' "$ROUNDS" "$RUN_SECONDS" "$(( $(date +%s) - STARTED_AT ))"
} > "$RAW/machine.json"
python3 "$REPO/Benchmarks/support/report.py" "$RAW" "$OUT/results.json"
