"""Issue 14: the config reader checked differentially against Python's tomllib (a TOML 1.0
reader in the standard library) over generated and mutated documents.

A seeded generator writes documents with random tables, dotted keys, inline tables, arrays of
tables, strings of every form with escapes, integers in every base, floats, dates and times,
comments, CRLF line endings and a BOM; byte-level mutations of them make invalid (and some
still valid) ones. `toml-decoder` (TOMLTable.parse behind toml-test's interface) and tomllib
must agree on every one: both refuse, or both read the same values. Two differences are by
design and allowed: Latchkey reads integers as 64-bit (tomllib's are unbounded), and it skips a
UTF-8 byte order mark (tomllib refuses one), so the BOM is taken off before tomllib reads.
"""

import datetime
import json
import math
import os
import random
import subprocess
import tomllib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

SEED = int(os.environ.get("LATCHKEY_TOML_SEED", "14"))
GENERATED = int(os.environ.get("LATCHKEY_TOML_GENERATED", "1200"))
MUTATED = int(os.environ.get("LATCHKEY_TOML_MUTATED", "2400"))
INT64 = range(-2**63, 2**63)


@pytest.fixture(scope="module")
def decoder(bin_dir):
    path = Path(bin_dir) / "toml-decoder"
    if not path.exists():
        pytest.fail(f"{path} is not built: run `swift build`", pytrace=False)
    return str(path)


# The generator ------------------------------------------------------------------------------

KEYS = ["a", "b", "c", "key", "x-y", "_1", "42", '"quoted key"', "'lit'", '"a.b"', '""', '"é"']


def key(rnd):
    return rnd.choice(KEYS)


def dotted(rnd):
    return rnd.choice([".", " . ", ". "]).join(key(rnd) for _ in range(rnd.choice([1, 1, 1, 2, 3])))


def basic_string(rnd):
    pieces = ["plain", "é", "😀", "\\n", "\\t", '\\"', "\\\\", "\\u00e9", "\\U0001F600", "\\b", "\\f",
              "\\r", " ", "'", "#", "\t", "=", "[", "]"]
    return '"' + "".join(rnd.choice(pieces) for _ in range(rnd.randint(0, 5))) + '"'


def multiline_basic(rnd):
    pieces = ["line", "\n", '"', '""', "\\\n    ", "\\  \n\n  ", "\\n", "é", "\t", "\\u0041", "'''"]
    body = "".join(rnd.choice(pieces) for _ in range(rnd.randint(0, 6)))
    if body.endswith("\\"):
        body += "x"
    return '"""' + rnd.choice(["", "\n"]) + body + rnd.choice(["", '"', '""']) + '"""'


def literal_string(rnd):
    pieces = ["C:\\path", "é", "\\n", '"', " ", "#", "\t", "😀"]
    return "'" + "".join(rnd.choice(pieces) for _ in range(rnd.randint(0, 4))) + "'"


def multiline_literal(rnd):
    pieces = ["raw", "\n", "'", "''", "\\", '"""', "é", "\t"]
    return "'''" + rnd.choice(["", "\n"]) + "".join(rnd.choice(pieces) for _ in range(rnd.randint(0, 6))) \
        + rnd.choice(["", "'", "''"]) + "'''"


def underscored(digits, rnd):
    if len(digits) > 1 and rnd.random() < 0.3:
        i = rnd.randint(1, len(digits) - 1)
        return digits[:i] + "_" + digits[i:]
    return digits


def integer(rnd):
    n = rnd.choice([0, 1, 7, 42, 255, 10**6, 2**31, 2**63 - 1, -2**63, rnd.randint(-10**12, 10**12)])
    form = rnd.choice(["dec", "dec", "hex", "oct", "bin"])
    if form == "dec" or n < 0:
        sign = "+" if n > 0 and rnd.random() < 0.2 else ""
        return sign + ("-" if n < 0 else "") + underscored(str(abs(n)), rnd)
    digits = {"hex": format(n, rnd.choice(["x", "X"])), "oct": format(n, "o"), "bin": format(n, "b")}[form]
    return "0" + form[0] + underscored(digits, rnd)


def floating(rnd):
    choice = rnd.random()
    if choice < 0.15:
        return rnd.choice(["", "+", "-"]) + rnd.choice(["inf", "nan"])
    whole = underscored(str(rnd.randint(0, 10**6)), rnd)
    sign = rnd.choice(["", "", "-", "+"])
    fraction = "." + underscored(str(rnd.randint(0, 10**4)).zfill(rnd.randint(1, 5)), rnd)
    exponent = rnd.choice(["e", "E"]) + rnd.choice(["", "+", "-"]) + str(rnd.randint(0, 400))
    parts = rnd.choice([(fraction, ""), ("", exponent), (fraction, exponent)])
    return sign + whole + parts[0] + parts[1]


def date_time(rnd):
    date = f"{rnd.randint(1, 9999):04d}-{rnd.randint(1, 12):02d}-{rnd.randint(1, 28):02d}"
    time = f"{rnd.randint(0, 23):02d}:{rnd.randint(0, 59):02d}:{rnd.randint(0, 59):02d}"
    if rnd.random() < 0.4:
        time += "." + "".join(rnd.choice("0123456789") for _ in range(rnd.randint(1, 9)))
    offset = rnd.choice(["Z", "z", f"{rnd.choice('+-')}{rnd.randint(0, 23):02d}:{rnd.randint(0, 59):02d}"])
    return rnd.choice([date, time, date + rnd.choice("Tt ") + time, date + rnd.choice("Tt ") + time + offset])


def value(rnd, depth=0):
    kinds = [basic_string, multiline_basic, literal_string, multiline_literal, integer, floating, date_time,
             lambda r: r.choice(["true", "false"])]
    if depth < 3:
        kinds += [array, inline_table]
    choice = rnd.choice(kinds)
    return choice(rnd, depth) if choice in (array, inline_table) else choice(rnd)


def array(rnd, depth):
    items = [value(rnd, depth + 1) for _ in range(rnd.randint(0, 4))]
    separators = [",", ", ", ",\n  ", " ,", ", # note\n"]
    text = "[" + rnd.choice(["", " ", "\n  "]) + "".join(item + rnd.choice(separators) for item in items[:-1])
    if items:
        text += items[-1] + rnd.choice(["", ",", " ", "\n", ", # end\n"])
    return text + "]"


def inline_table(rnd, depth):
    pairs = [f"{dotted(rnd)} = {value(rnd, depth + 1)}" for _ in range(rnd.randint(0, 3))]
    return "{" + rnd.choice(["", " "]) + ", ".join(pairs) + rnd.choice(["", " "]) + "}"


def document(rnd):
    lines = []
    if rnd.random() < 0.3:
        lines.append("# " + rnd.choice(["config", "é 😀", "tab\there"]))
    for _ in range(rnd.randint(0, 3)):
        lines.append(f"{dotted(rnd)} = {value(rnd)}" + rnd.choice(["", "  # why"]))
    for _ in range(rnd.randint(0, 4)):
        header = dotted(rnd)
        lines.append(rnd.choice([f"[{header}]", f"[ {header} ]", f"[[{header}]]"]) + rnd.choice(["", " # t"]))
        for _ in range(rnd.randint(0, 3)):
            lines.append(rnd.choice(["", "  "]) + f"{dotted(rnd)} = {value(rnd)}")
        if rnd.random() < 0.2:
            lines.append("")
    text = "\n".join(lines) + rnd.choice(["", "\n"])
    if rnd.random() < 0.25:
        text = text.replace("\n", "\r\n")
    data = text.encode()
    if rnd.random() < 0.1:
        data = b"\xef\xbb\xbf" + data
    return data


INTERESTING = [b'"', b"'", b"[", b"]", b"{", b"}", b"=", b".", b",", b"#", b"\n", b"\r", b"\r\n", b"\\", b" ",
               b"_", b"0", b"1", b"e", b"x", b"+", b"-", b":", b"T", b"Z", b"\t", b"\x00", b"\x7f", b"\x1b",
               b"\xc3", b"\xa9", b"\xef\xbb\xbf", b"inf", b"nan", b"\\u", b'"""', b"'''", b"[[", b"]]"]


def mutate(data, rnd):
    data = bytearray(data)
    for _ in range(rnd.randint(1, 3)):
        op = rnd.random()
        i = rnd.randint(0, len(data))
        if op < 0.3 and data:
            del data[min(i, len(data) - 1)]
        elif op < 0.6:
            data[i:i] = rnd.choice(INTERESTING)
        elif op < 0.8 and data:
            data[min(i, len(data) - 1)] = rnd.choice(INTERESTING)[0]
        else:
            lines = bytes(data).split(b"\n")
            j = rnd.randrange(len(lines))
            lines.insert(rnd.randrange(len(lines) + 1), lines[j])
            data = bytearray(b"\n".join(lines))
    return bytes(data)


# Comparing the two readers ------------------------------------------------------------------

def from_tomllib(v):
    """tomllib's value in the decoder's terms (None: Latchkey refuses it by design)."""
    if isinstance(v, bool):
        return ("bool", v)
    if isinstance(v, int):
        return ("integer", v) if v in INT64 else None
    if isinstance(v, float):
        return ("float", "nan" if math.isnan(v) else v)
    if isinstance(v, str):
        return ("string", v)
    if isinstance(v, datetime.datetime):
        offset = v.utcoffset()
        return ("datetime" if offset is not None else "datetime-local",
                v.replace(tzinfo=None).isoformat(), None if offset is None else offset.total_seconds())
    if isinstance(v, datetime.date):
        return ("date-local", v.isoformat())
    if isinstance(v, datetime.time):
        return ("time-local", v.isoformat())
    if isinstance(v, list):
        items = [from_tomllib(x) for x in v]
        return None if None in items else items
    items = {k: from_tomllib(x) for k, x in v.items()}
    return None if None in items.values() else items


def from_decoder(v):
    """The decoder's tagged JSON in the same terms (fractions of seconds cut to microseconds, as
    Python keeps them)."""
    if isinstance(v, list):
        return [from_decoder(x) for x in v]
    if set(v) == {"type", "value"} and isinstance(v["type"], str):
        kind, text = v["type"], v["value"]
        if kind == "bool":
            return (kind, text == "true")
        if kind == "integer":
            return (kind, int(text))
        if kind == "float":
            return (kind, "nan" if text == "nan" else float(text))
        if kind == "string":
            return (kind, text)
        text = text.replace("t", "T").replace(" ", "T")
        offset = None
        if kind == "datetime":
            if text[-1] in "Zz":
                text, offset = text[:-1], 0.0
            else:
                sign = -1 if text[-6] == "-" else 1
                offset = sign * (int(text[-5:-3]) * 3600 + int(text[-2:]) * 60)
                text = text[:-6]
        if "." in text:
            head, fraction = text.split(".")
            text = head + "." + fraction[:6].ljust(6, "0")
        parsed = {"datetime": datetime.datetime, "datetime-local": datetime.datetime,
                  "date-local": datetime.date, "time-local": datetime.time}[kind].fromisoformat(text).isoformat()
        return (kind, parsed, offset) if kind.startswith("datetime") else (kind, parsed)
    return {k: from_decoder(x) for k, x in v.items()}


def verdict(decoder, data):
    """(agree, latchkey accepted, detail)."""
    reference = data[3:] if data.startswith(b"\xef\xbb\xbf") else data
    try:
        expected = from_tomllib(tomllib.loads(reference.decode("utf-8")))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError):
        expected = None
    except RecursionError:
        return True, None, "tomllib recursed too deep"
    done = subprocess.run([decoder], input=data, capture_output=True, timeout=30)
    if done.returncode not in (0, 1):
        return False, None, f"decoder exited with {done.returncode}: {done.stderr[-300:]!r}"
    have = from_decoder(json.loads(done.stdout)) if done.returncode == 0 else None
    if expected is None or have is None:
        return (expected is None) == (have is None), have is not None, done.stderr.decode(errors="replace")[:200]
    return expected == have, True, f"tomllib {expected!r}\nlatchkey {have!r}"


def test_the_reader_agrees_with_tomllib_on_generated_and_mutated_documents(decoder):
    rnd = random.Random(SEED)
    documents = [document(rnd) for _ in range(GENERATED)]
    documents += [mutate(documents[rnd.randrange(GENERATED)], rnd) for _ in range(MUTATED)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda d: verdict(decoder, d), documents))
    disagreements = [(d, detail) for d, (agree, _, detail) in zip(documents, results) if not agree]
    generated_ok = sum(1 for _, ok, _ in results[:GENERATED] if ok)
    mutated_ok = sum(1 for _, ok, _ in results[GENERATED:] if ok)
    print(f"\ntoml differential (seed {SEED}): {GENERATED} generated ({generated_ok} accepted, "
          f"{GENERATED - generated_ok} refused), {MUTATED} mutated ({mutated_ok} accepted, "
          f"{MUTATED - mutated_ok} refused), {len(disagreements)} disagreements with tomllib")
    for data, detail in disagreements[:5]:
        print(repr(data), "\n", detail)
    # Enough of both kinds that agreement means something.
    assert generated_ok > GENERATED // 4 and mutated_ok < MUTATED * 0.9
    assert not disagreements
