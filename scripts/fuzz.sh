#!/usr/bin/env bash
# Coverage-guided fuzzing with clang's libFuzzer (docs/security-testing.md, Fuzzing).
#
#   bash scripts/fuzz.sh build            build .build-fuzz/release/latchkey-fuzz
#   bash scripts/fuzz.sh run [TARGET…]    fuzz each target FUZZ_SECONDS (default 60) seconds,
#                                         after replaying its committed regression inputs
#   bash scripts/fuzz.sh replay [TARGET…] replay the regression inputs only
#   bash scripts/fuzz.sh list             the target names
#
# FUZZ_FLAGS adds libFuzzer options (e.g. -len_control=0 to try long inputs at once).
# FUZZ_JOBS targets run side by side (default: the number of cores). An input that crashes,
# breaks a checked property, runs out of memory or takes more than 100 ms of CPU (the harness
# measures it; libFuzzer's -timeout catches one that never returns) is a finding: it is saved
# to .build-fuzz/findings/TARGET/ and the run fails. Regression inputs live in
# Tests/Fuzz/regressions/TARGET/; FUZZ_PENDING=1 also replays Tests/Fuzz/regressions-pending/.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
cd "$REPO"
export PATH=/opt/swift/usr/bin:$PATH
SCRATCH=.build-fuzz
BIN=$SCRATCH/release/latchkey-fuzz
SECONDS_PER_TARGET=${FUZZ_SECONDS:-60}
JOBS=${FUZZ_JOBS:-$(nproc)}
SLOW_MS=100
# Swift's own backtracer hangs on in the background after a crash under AddressSanitizer:
# libFuzzer's and ASan's report (symbolized) says where instead.
export SWIFT_BACKTRACE=enable=no ASAN_SYMBOLIZER_PATH=/opt/swift/usr/bin/llvm-symbolizer
# Everything the harness links is built with the fuzzer's coverage and AddressSanitizer; the
# target itself exists only when LATCHKEY_FUZZ=1 (Package.swift).
build() {
    local started=$SECONDS log=$SCRATCH/build.log
    mkdir -p "$SCRATCH"
    if ! LATCHKEY_FUZZ=1 swift build -c release --scratch-path "$SCRATCH" --product latchkey-fuzz \
        -Xswiftc -sanitize=fuzzer,address -Xswiftc -use-ld=lld >"$log" 2>&1; then
        grep -E 'error' "$log" | head -20
        echo "fuzz: the fuzz build failed (log: $log)"
        exit 1
    fi
    echo "fuzz: built $BIN in $((SECONDS - started)) s"
}

targets() { LATCHKEY_FUZZ_TARGET=list "$BIN" -runs=0 2>&1 | sed -n 's/.*one of: //p'; }

# The libFuzzer options every run shares.
options() {
    local target=$1
    echo "-max_len=1048576 -timeout=5 -rss_limit_mb=4096 -print_final_stats=1 -detect_leaks=0" \
        "-dict=Tests/Fuzz/dict/$target.dict -artifact_prefix=$SCRATCH/findings/$target/ ${FUZZ_FLAGS:-}"
}

# Replays the committed inputs of one target; prints "replay TARGET N" or the failure.
replay_one() {
    local target=$1 dirs=(Tests/Fuzz/regressions/"$target")
    [ "${FUZZ_PENDING:-0}" = 1 ] && dirs+=(Tests/Fuzz/regressions-pending/"$target")
    local files=()
    for dir in "${dirs[@]}"; do
        [ -d "$dir" ] && while IFS= read -r f; do files+=("$f"); done < <(find "$dir" -type f | sort)
    done
    [ ${#files[@]} -eq 0 ] && return 0
    mkdir -p "$SCRATCH/findings/$target"
    if ! LATCHKEY_FUZZ_TARGET=$target LATCHKEY_FUZZ_SLOW_MS=$SLOW_MS "$BIN" $(options "$target") "${files[@]}" \
        >"$SCRATCH/logs/$target.replay.log" 2>&1; then
        echo "fuzz: $target: a regression input fails again:"
        grep -E 'latchkey-fuzz:|runtime failure:|ERROR: libFuzzer|Running:' "$SCRATCH/logs/$target.replay.log" | sort -u | tail -5
        return 1
    fi
}

# Fuzzes one target; its log is $SCRATCH/logs/TARGET.log.
fuzz_one() {
    local target=$1
    mkdir -p "$SCRATCH/corpus/$target" "$SCRATCH/findings/$target"
    # The first corpus directory receives new inputs; the committed seeds are only read.
    LATCHKEY_FUZZ_TARGET=$target LATCHKEY_FUZZ_SLOW_MS=$SLOW_MS "$BIN" $(options "$target") \
        -max_total_time="$SECONDS_PER_TARGET" "$SCRATCH/corpus/$target" "Tests/Fuzz/corpus/$target" \
        >"$SCRATCH/logs/$target.log" 2>&1 || true
}

# One line per target from its log; adds to the totals.
total_runs=0 total_crashes=0 total_slow=0 failed=0
summarize() {
    local target=$1 log=$SCRATCH/logs/$1.log
    local runs cov ft crashes=0 slow=0
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    [ -z "$runs" ] && runs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$log" | tail -1)
    cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1 | grep -oE '[0-9]+' || echo 0)
    ft=$(grep -oE 'ft: [0-9]+' "$log" | tail -1 | grep -oE '[0-9]+' || echo 0)
    if grep -qE 'latchkey-fuzz: slow input|libFuzzer: timeout' "$log"; then
        slow=1
    elif grep -qE 'ERROR: (libFuzzer|AddressSanitizer)|Fatal error|property violated|out-of-memory' "$log"; then
        crashes=1
    elif ! grep -qE '^Done [0-9]+ runs' "$log"; then
        crashes=1  # libFuzzer did not finish its run: treat as a crash, the log says why
    fi
    echo "fuzz: $target: ${runs:-0} executions, cov: ${cov:-0} ft: ${ft:-0}, $crashes crashes, $slow slow inputs"
    if [ $((crashes + slow)) -gt 0 ]; then
        failed=1
        { grep -E 'latchkey-fuzz:|runtime failure:|ERROR: libFuzzer|Test unit written' "$log" | sort -u | head -4
          grep -m1 -E ' in .*/Sources/' "$log" || true; } | sed 's/^ */    /'
    fi
    total_runs=$((total_runs + ${runs:-0})) total_crashes=$((total_crashes + crashes)) total_slow=$((total_slow + slow))
}

command=${1:-run}
shift || true
case $command in
build) build ;;
list) targets ;;
replay | run)
    [ -x "$BIN" ] || build
    mkdir -p "$SCRATCH/logs"
    selected=("$@")
    [ ${#selected[@]} -eq 0 ] && read -r -a selected < <(targets)
    for target in "${selected[@]}"; do replay_one "$target" || failed=1; done
    if [ "$command" = run ]; then
        echo "fuzz: ${#selected[@]} targets, $SECONDS_PER_TARGET s each, $JOBS at a time"
        running=0
        for target in "${selected[@]}"; do
            fuzz_one "$target" &
            running=$((running + 1))
            if [ $running -ge "$JOBS" ]; then wait -n || true; running=$((running - 1)); fi
        done
        wait
        for target in "${selected[@]}"; do summarize "$target"; done
        echo "fuzz: ${#selected[@]} targets, $total_runs executions, $total_crashes crashes, $total_slow slow inputs"
    fi
    exit $failed
    ;;
*) echo "usage: scripts/fuzz.sh build|run|replay|list [TARGET…]" >&2; exit 2 ;;
esac
