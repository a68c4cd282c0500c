#!/usr/bin/env bash
# Measures the config reader against toml-lang/toml-test (TOML 1.0 cases):
#   git clone https://github.com/toml-lang/toml-test /tmp/toml-test   # not ours: never commit it
#   bash scripts/toml-test.sh /tmp/toml-test
# Builds the toml-decoder executable (the suite's decoder interface over TOMLTable.parse) and
# prints "valid read right N/M, invalid refused N/M", then each failure.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
SUITE=${1:-${TOML_TEST_DIR:-}}
if [ -z "$SUITE" ] || [ ! -f "$SUITE/tests/files-toml-1.0.0" ]; then
    echo "usage: $0 TOML_TEST_CHECKOUT (a clone of https://github.com/toml-lang/toml-test)" >&2
    exit 2
fi
export PATH=/opt/swift/usr/bin:$PATH
cd "$REPO"
swift build --product toml-decoder >/dev/null
exec python3 scripts/toml-test.py "$SUITE" "$REPO/.build/debug/toml-decoder"
