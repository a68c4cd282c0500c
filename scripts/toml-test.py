#!/usr/bin/env python3
"""Runs toml-lang/toml-test's TOML 1.0 cases through a decoder that speaks toml-test's
interface (TOML on stdin; tagged JSON on stdout, or exit status 1): every valid case must be
read to the expected JSON, every invalid case refused. Prints the counts and each failure.

    scripts/toml-test.py SUITE_DIR DECODER [--quiet]

SUITE_DIR is a checkout of https://github.com/toml-lang/toml-test (its tests/ folder and
tests/files-toml-1.0.0, the list of the cases that apply to TOML 1.0). The suite is not ours:
it is read from where it lies, never copied into this repository."""

import datetime
import json
import math
import re
import subprocess
import sys
from pathlib import Path

DATETIME = re.compile(r"^(?:(\d{4})-(\d{2})-(\d{2}))?[Tt ]?(?:(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?)?"
                      r"([Zz]|[+-]\d{2}:\d{2})?$")


def normal_datetime(text):
    """A comparable form: parts as numbers, the fraction to the millisecond (toml-test's
    precision), an offset date-time as the instant in UTC minutes."""
    m = DATETIME.match(text)
    if not m:
        return ("bad", text)
    y, mo, d, h, mi, s, frac, off = m.groups()
    ms = int((frac or "0")[:3].ljust(3, "0"))
    parts = [int(x) if x is not None else None for x in (y, mo, d, h, mi, s)]
    if off and parts[0] is not None and parts[3] is not None:
        minutes = 0 if off in "Zz" else (-1 if off[0] == "-" else 1) * (int(off[1:3]) * 60 + int(off[4:6]))
        # Compare instants, as toml-test does.
        t = datetime.datetime(*parts, ms * 1000, tzinfo=datetime.timezone(datetime.timedelta(minutes=minutes)))
        return ("utc", t.astimezone(datetime.timezone.utc).replace(tzinfo=None))
    return (tuple(parts), ms, off is not None)


def same(want, have):
    """toml-test's comparison of tagged JSON (json.go): types equal, floats by value (nan by
    name), date-times as instants, everything else as text."""
    if isinstance(want, list):
        return isinstance(have, list) and len(want) == len(have) and all(map(same, want, have))
    if not isinstance(want, dict) or not isinstance(have, dict):
        return False
    if set(want) == {"type", "value"} and isinstance(want.get("type"), str):
        if set(have) != {"type", "value"} or want["type"] != have["type"]:
            return False
        w, h = want["value"], have["value"]
        if want["type"] == "float":
            w, h = w.lower(), h.lower()
            if w.endswith("nan") or h.endswith("nan"):
                return w.lstrip("+-") == h.lstrip("+-")
            try:
                return float(w) == float(h)
            except ValueError:
                return False
        if want["type"] in ("datetime", "datetime-local", "date-local", "time-local"):
            return normal_datetime(w) == normal_datetime(h)
        if want["type"] == "bool":
            return w.lower() == h.lower()
        return w == h
    return set(want) == set(have) and all(same(want[k], have[k]) for k in want)


def run(decoder, path):
    try:
        done = subprocess.run([decoder], input=path.read_bytes(), capture_output=True, timeout=10)
    except subprocess.TimeoutExpired:
        return None, "timed out"
    return done.returncode, done.stdout.decode(errors="replace") if done.returncode == 0 else done.stderr.decode(errors="replace")


def main():
    suite, decoder = Path(sys.argv[1]), sys.argv[2]
    quiet = "--quiet" in sys.argv
    tests = suite / "tests"
    cases = [line.strip() for line in (tests / "files-toml-1.0.0").read_text().splitlines()
             if line.strip().endswith(".toml")]
    counts = {"valid": [0, 0], "invalid": [0, 0]}
    failures = []
    for case in cases:
        kind = case.split("/")[0]
        path = tests / case
        status, output = run(decoder, path)
        counts[kind][1] += 1
        if kind == "valid":
            want = json.loads(path.with_suffix(".json").read_text())
            ok = status == 0 and same(want, json.loads(output))
        else:
            ok = status == 1
        if ok:
            counts[kind][0] += 1
        else:
            failures.append(f"{case}: exit {status}: {output.strip()[:300]}")
    if not quiet:
        for failure in failures:
            print("FAIL", failure)
    (vok, vall), (iok, iall) = counts["valid"], counts["invalid"]
    print(f"toml-test (TOML 1.0): valid read right {vok}/{vall} ({100 * vok / vall:.1f} %), "
          f"invalid refused {iok}/{iall} ({100 * iok / iall:.1f} %)")
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
