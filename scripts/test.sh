#!/usr/bin/env bash
# `make test`: install what is missing, build, start the real test servers on loopback, run
# every test (Swift unit and integration tests, then the end-to-end suite against the real
# binaries), stop the servers. Integration tests run, never skip: LATCHKEY_INTEGRATION=1.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
cd "$REPO"
export PATH=/opt/swift/usr/bin:$PATH
# Each step's header says how long the run has taken so far (CI keeps a full run under 20 minutes).
phase() { printf '== %s (at %dm%02ds)\n' "$1" $((SECONDS / 60)) $((SECONDS % 60)); }
bash scripts/install-deps.sh
phase "build"
swift build --build-tests 2>&1 | grep -vE 'prohibited flag|^\[[0-9]+/[0-9]+\]' || true
swift build --build-tests >/dev/null 2>&1 || { swift build --build-tests; exit 1; }
# The thin client as `make release` ships it (fully static), for test_static_client.py.
swift build -c release --product latchkey -Xswiftc -static-executable --scratch-path .build/static 2>&1 \
    | grep -E 'error:' || true
swift build -c release --product latchkey -Xswiftc -static-executable --scratch-path .build/static >/dev/null 2>&1 \
    || { swift build -c release --product latchkey -Xswiftc -static-executable --scratch-path .build/static; exit 1; }
# The daemon as `make release` builds it, and the Debian package of both, for
# test_install_package.py (installed with apt-get, used as an ordinary user, purged).
phase "release daemon and package"
swift build -c release --static-swift-stdlib --product latchkeyd 2>&1 | grep -E 'error:' || true
swift build -c release --static-swift-stdlib --product latchkeyd >/dev/null 2>&1 \
    || { swift build -c release --static-swift-stdlib --product latchkeyd; exit 1; }
LATCHKEY_DEB=$REPO/$(bash scripts/deb.sh)
export LATCHKEY_DEB
phase "test servers"
# One test environment per pytest worker (two: the machines have two cores, and most e2e time is
# spent waiting on token lifetimes, not computing), each in its own folder on its own ports. The
# Swift tests use the first.
workers=${LATCHKEY_E2E_WORKERS:-2}
testenvs=() env_files=()
stop_testenvs() {
    local dir
    for dir in "${testenvs[@]}"; do LATCHKEY_TESTENV=$dir bash scripts/testenv/down.sh || true; done
}
trap stop_testenvs EXIT
for _ in $(seq "$workers"); do
    dir=$(mktemp -d /tmp/latchkey-testenv.XXXXXX)
    testenvs+=("$dir")
    env_files+=("$(LATCHKEY_TESTENV=$dir LATCHKEY_TESTENV_GIVEN=1 bash scripts/testenv/up.sh)")
done
export LATCHKEY_TESTENV_FILES="${env_files[*]}"
set -a; source "${env_files[0]}"; set +a
export LATCHKEY_INTEGRATION=1 LATCHKEY_BIN="$REPO/.build/debug" LATCHKEY_STATIC_BIN="$REPO/.build/static/release"
# SwiftNIO's strict mode: work scheduled on an event loop that has already shut down (a task
# nobody owns outliving the server) crashes instead of printing a warning. The e2e daemons
# inherit it from this environment.
export SWIFTNIO_STRICT=1
status=0
phase "format (swift format lint --strict, .swift-format)"
# STYLE.md's layout, enforced: any warning fails the run (`swift format format -i -r Sources
# Tests Package.swift Benchmarks` fixes nearly all of them).
if ! lint=$(swift format lint --strict -r Sources Tests Package.swift Benchmarks 2>&1) || [ -n "$lint" ]; then
    printf '%s\n' "$lint" | head -40
    echo "swift format lint: $(printf '%s\n' "$lint" | grep -c 'error:') findings"
    status=1
fi
phase "swift test"
swift test --skip-build 2>&1 | tee "$LATCHKEY_TESTENV/swift-test.log" | grep -vE '^(Test Case|◇|✔ Test [^r])' || true
grep -qE '✔ Test run with [0-9]+ tests? .*passed' "$LATCHKEY_TESTENV/swift-test.log" || status=1
grep -qE 'Executed [0-9]+ tests?, with 0 failures' "$LATCHKEY_TESTENV/swift-test.log" || ! grep -q 'Executed' "$LATCHKEY_TESTENV/swift-test.log" || status=1
phase "fuzz (libFuzzer over every parser of outside bytes, ${FUZZ_SMOKE_SECONDS:-10} s a target)"
# Regression inputs first, then a short run of each target: any crash or slow input fails.
if ! { bash scripts/fuzz.sh build && FUZZ_SECONDS=${FUZZ_SMOKE_SECONDS:-10} bash scripts/fuzz.sh run; } \
    >"$LATCHKEY_TESTENV/fuzz.log" 2>&1; then
    status=1
fi
grep -E '^(fuzz:|    )' "$LATCHKEY_TESTENV/fuzz.log" || cat "$LATCHKEY_TESTENV/fuzz.log"
phase "end-to-end tests"
# Every test's daemon log lands under --basetemp, for the check below.
"$REPO/.testenv/venv/bin/pytest" -q -p no:cacheprovider -n "$workers" --basetemp="$LATCHKEY_TESTENV/pytest" \
    Tests/e2e || status=1
phase "no work left on a stopped event loop"
if grep -rl --include='*.log' 'Cannot schedule tasks' "$LATCHKEY_TESTENV/swift-test.log" "$LATCHKEY_TESTENV/pytest"; then
    echo "SwiftNIO reported work scheduled on an event loop that had shut down (files above)"
    status=1
fi
if [ $status -ne 0 ]; then
    # CI shows the end of the output: repeat what failed there.
    echo "== failures (repeated from above)"
    [ -z "${lint:-}" ] || printf '%s\n' "$lint" | head -20
    grep -E 'recorded an issue|✘ Test [^r]|error:|failures' "$LATCHKEY_TESTENV/swift-test.log" | head -40 || true
    grep -E '[1-9][0-9]* (crashes|slow)|^    ' "$LATCHKEY_TESTENV/fuzz.log" || true
fi
phase "done"
exit $status
