#!/usr/bin/env bash
# Create (or reuse) the test environment's Python venv in $REPO/.testenv/venv and install
# Tests/Support/requirements.txt into it, only when that file changed since the last install
# (a sha256 stamp is kept inside the venv). Idempotent and quiet; safe to run concurrently
# with itself only in the sense that the second run waits for the lock.
source "$(dirname "$0")/common.sh"

REQS="$REPO/Tests/Support/requirements.txt"
STAMP="$VENV/.requirements.sha256"
[ -f "$REQS" ] || die "missing $REQS"

mkdir -p "$REPO/.testenv"
exec 9>"$REPO/.testenv/venv.lock"
flock 9

if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'import sys' >/dev/null 2>&1; then
    if ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
        log "python3 -m venv is unavailable; installing python3-venv"
        { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv; } \
            >/dev/null || die "could not install python3-venv"
    fi
    rm -rf "$VENV"
    log "creating venv in $VENV"
    python3 -m venv "$VENV" || die "python3 -m venv failed"
fi

want=$(sha256sum "$REQS" | cut -d' ' -f1)
have=$(cat "$STAMP" 2>/dev/null || true)
if [ "$want" != "$have" ]; then
    log "installing $(basename "$REQS") into the venv"
    export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1
    "$VENV/bin/python" -m pip install -q -r "$REQS" || die "pip install failed (see output above)"
    printf '%s\n' "$want" > "$STAMP"
fi
