"""Turns the raw measurements of scripts/bench.sh into one table and results.json.

    python3 report.py RAW_DIR RESULTS_JSON

Every comparison is a median of the rounds (medians of three by default), each round measured
side by side; ratios are taken of those medians. Standard library only.
"""

import json
import os
import re
import statistics
import sys


def lines(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def load(path, default=None):
    if not os.path.exists(path):
        return default
    with open(path) as f:
        return json.load(f)


def med(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def summarize(runs):
    """Median of each figure over the rounds, and the error counts summed."""
    if not runs:
        return None
    out = {k: med([r[k] for r in runs]) for k in ("rps", "p50_us", "p99_us", "p999_us", "max_us", "server_cpu", "client_cpu")}
    out["errors"] = sum(r["errors"] + r["bad_status"] + r["invalid"] for r in runs)
    out["requests"] = sum(r["requests"] for r in runs)
    out["rounds"] = len(runs)
    out["runs_rps"] = [round(r["rps"]) for r in runs]
    return out


def socket_results(raw):
    runs = lines(os.path.join(raw, "socket.jsonl"))
    by = {}
    for r in runs:
        by.setdefault((r["server"], r["connections"]), []).append(r)
    result = {}
    for (server, conns), group in sorted(by.items()):
        result.setdefault(server, {})[str(conns)] = summarize(group)
    return result


def cli_results(raw):
    rounds = []
    for name in sorted(os.listdir(raw)):
        if re.fullmatch(r"cli_\d+\.json", name):
            rounds.append(load(os.path.join(raw, name)))
    labels = {}
    for data in rounds:
        for result in data["results"]:
            command = result["command"]
            if "latchkey token" in command:
                label = "latchkey token"
            elif command.startswith("curl"):
                label = "curl --unix-socket"
            elif "loadgen" in command:
                label = "C client (one request)"
            elif command.startswith("oidc-token"):
                label = "oidc-token"
            else:
                label = command
            labels.setdefault(label, []).append(result["median"] * 1000)
    out = {label: {"median_ms": med(values), "rounds_ms": [round(v, 3) for v in values]} for label, values in labels.items()}
    notes = load(os.path.join(raw, "cli_notes.json"), {})
    if notes.get("oidc_note"):
        out["oidc_note"] = notes["oidc_note"]
    return out


def status_results(raw):
    data = load(os.path.join(raw, "status.json"))
    if not data:
        return {}
    out = {}
    for result in data["results"]:
        key = "status_json_ms" if "--json" in result["command"] else "status_ms"
        out[key] = result["median"] * 1000
    return out


UNITS = {"ns": 1e-3, "μs": 1, "us": 1, "ms": 1e3, "s": 1e6}


def micro_results(raw):
    """Benchmark names with the p50 wall-clock time (µs, per operation) and mallocs."""
    path = os.path.join(raw, "micro.txt")
    if not os.path.exists(path):
        return []
    results, current = [], None
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if line and not line.startswith(("│", "╒", "╞", "├", "╘", " ")) and "│" not in line and ":" in line:
                current = {"name": line.strip()}
                results.append(current)
                continue
            if current is None or not line.startswith("│"):
                continue
            cells = [c.strip() for c in line.strip("│").split("│")]
            if len(cells) < 9:
                continue
            metric, p50 = cells[0], cells[3]
            try:
                value = float(p50)
            except ValueError:
                continue
            scale = 1000 if "(K)" in metric else 1e6 if "(M)" in metric else 1
            if metric.startswith("Time (wall clock)"):
                unit = re.search(r"\((ns|μs|us|ms|s)\)", metric)
                current["p50_us"] = value * UNITS[unit.group(1)] * scale if unit else None
            elif metric.startswith("Malloc (total)"):
                current["mallocs"] = value * scale
    return [r for r in results if "p50_us" in r]


def fmt_us(v):
    if v is None:
        return "-"
    if v >= 1e6:
        return f"{v / 1e6:.2f} s"
    if v >= 1e3:
        return f"{v / 1e3:.2f} ms"
    if v >= 1:
        return f"{v:.2f} µs"
    return f"{v * 1000:.0f} ns"


def main(raw, out_path):
    machine = load(os.path.join(raw, "machine.json"), {})
    sock = socket_results(raw)
    cli = cli_results(raw)
    many = load(os.path.join(raw, "many.json"), {})
    many.update(status_results(raw))
    rss = lines(os.path.join(raw, "rss_main.jsonl"))
    burst = lines(os.path.join(raw, "burst.jsonl"))
    negotiate_extra = load(os.path.join(raw, "negotiate.json"), {})
    micro = micro_results(raw)

    lk, ref = sock.get("latchkey", {}), sock.get("reference", {})
    ratios = {}
    for c in ("1", "8", "64"):
        if c in lk and c in ref and ref[c]["rps"]:
            ratios[c] = {"rps": lk[c]["rps"] / ref[c]["rps"], "p99": lk[c]["p99_us"] / ref[c]["p99_us"]}
    memory = {
        "one_account_idle_rss_mb": med([r["idle_rss_kb"] for r in rss]) * 1024 / 1e6 if rss else None,
        "one_account_idle_pss_mb": med([r.get("idle_pss_kb") for r in rss]) * 1024 / 1e6 if rss else None,
        "one_account_idle_anon_mb": med([r.get("idle_anon_kb") for r in rss]) * 1024 / 1e6 if rss else None,
        "one_account_after_load_rss_mb": med([r["loaded_rss_kb"] for r in rss]) * 1024 / 1e6 if rss else None,
        "one_account_startup_s": med([r["startup_s"] for r in rss]) if rss else None,
        "many_accounts": 10000,
        "many_startup_s": many.get("startup_s"),
        "many_idle_rss_mb": many["idle_rss_kb"] * 1024 / 1e6 if "idle_rss_kb" in many else None,
        "many_idle_pss_mb": many["idle_pss_kb"] * 1024 / 1e6 if "idle_pss_kb" in many else None,
        "many_idle_anon_mb": many["idle_anon_kb"] * 1024 / 1e6 if "idle_anon_kb" in many else None,
        "many_after_status_rss_mb": many["after_status_rss_kb"] * 1024 / 1e6 if "after_status_rss_kb" in many else None,
        "many_idle_cpu_cores": many.get("idle_cpu"),
        "status_ms": many.get("status_ms"),
        "status_json_ms": many.get("status_json_ms"),
        "status_lines": many.get("status_lines"),
    }
    neg = sock.get("negotiate", {})
    neg_best = max((neg[c]["rps"] for c in neg), default=None)
    burst_summary = {
        "runs": burst,
        "provider_calls": [b.get("provider_calls") for b in burst],
        "p50_ms": med([b.get("p50_ms") for b in burst]),
        "p90_ms": med([b.get("p90_ms") for b in burst]),
        "p99_ms": med([b.get("p99_ms") for b in burst]),
        "max_ms": med([b.get("max_ms") for b in burst]),
        "all_200": all(b.get("statuses", {}).get("200") == b.get("requests") for b in burst) if burst else None,
        "one_token": all(b.get("different_credentials") == 0 for b in burst) if burst else None,
    }

    lt, curl, oidc = (cli.get(k, {}).get("median_ms") for k in ("latchkey token", "curl --unix-socket", "oidc-token"))
    targets = []

    def target(name, measured, goal, met):
        targets.append({"target": name, "measured": measured, "goal": goal, "met": met})

    if "64" in ratios:
        r = ratios["64"]
        target("cached header, 64 connections: rate vs reference", f"{r['rps']:.2f}×", "≥ 0.50×", r["rps"] >= 0.5)
        target("cached header, 64 connections: p99 vs reference", f"{r['p99']:.2f}×", "≤ 3×", r["p99"] <= 3)
    if lt and curl:
        target("latchkey token per call vs curl --unix-socket", f"{lt / curl:.2f}×", "≤ 0.5×", lt / curl <= 0.5)
    if lt and oidc:
        target("latchkey token per call vs oidc-token", f"{lt / oidc:.2f}×", "≤ 1×", lt <= oidc)
    elif lt:
        target("latchkey token per call vs oidc-token", "not measured: " + cli.get("oidc_note", "?"), "≤ 1×", None)
    if burst:
        calls = burst_summary["provider_calls"]
        target("1000 concurrent requests on an expired token: provider calls", "/".join(map(str, calls)), "1 per run",
               all(c == 1 for c in calls) and bool(burst_summary["all_200"]))
    if memory["one_account_idle_rss_mb"] is not None:
        target("idle RSS, 1 account", f"{memory['one_account_idle_rss_mb']:.1f} MB", "≤ 20 MB", memory["one_account_idle_rss_mb"] <= 20)
    if memory["many_idle_rss_mb"] is not None:
        target("RSS, 10,000 accounts", f"{memory['many_idle_rss_mb']:.1f} MB", "≤ 150 MB", memory["many_idle_rss_mb"] <= 150)
    if memory["status_ms"] is not None:
        target("latchkey status, 10,000 accounts", f"{memory['status_ms']:.0f} ms", "≤ 200 ms", memory["status_ms"] <= 200)
    if neg_best is not None:
        target("Negotiate headers with a cached service ticket", f"{neg_best:.0f}/s", "≥ 2,000/s",
               neg_best >= 2000 and negotiate_extra.get("apache_status") == 200)

    results = {
        "machine": machine,
        "socket_header": {"latchkey": lk, "reference": ref, "latchkey_log_level_warning": sock.get("latchkey-log-warning", {}),
                          "ratio_latchkey_to_reference": ratios},
        "cli_per_call": cli,
        "negotiate": {"by_connections": neg, "best_rps": neg_best, "apache_accepted_a_header": negotiate_extra.get("apache_status") == 200},
        "expired_token_burst": burst_summary,
        "memory_and_status": memory,
        "micro": micro,
        "targets": targets,
    }
    with open(out_path, "w") as f:
        json.dump(results, f, indent=2, ensure_ascii=False)

    # ---------------------------------------------------------------- the table
    rows = []

    def row(what, latchkey, other="", ratio="", goal="", met=None):
        mark = "" if met is None and not goal else ("yes" if met else "NO" if met is not None else "?")
        rows.append((what, latchkey, other, ratio, goal, mark))

    for c in ("1", "8", "64"):
        if c in lk and c in ref:
            l, r = lk[c], ref[c]
            goal, met = ("≥ 0.50×", ratios[c]["rps"] >= 0.5) if c == "64" else ("", None)
            row(f"cached header, {c} conn: req/s", f"{l['rps']:,.0f}", f"ref {r['rps']:,.0f}", f"{ratios[c]['rps']:.2f}×", goal, met)
            goal, met = ("p99 ≤ 3×", ratios[c]["p99"] <= 3) if c == "64" else ("", None)
            row(f"  p50 / p99 / p99.9 (µs)", f"{l['p50_us']:.0f} / {l['p99_us']:.0f} / {l['p999_us']:.0f}",
                f"ref {r['p50_us']:.0f} / {r['p99_us']:.0f} / {r['p999_us']:.0f}", f"{ratios[c]['p99']:.2f}× p99", goal, met)
            row(f"  server CPU (cores); wrong answers", f"{l['server_cpu']:.2f}; {l['errors']}", f"ref {r['server_cpu']:.2f}; {r['errors']}")
            # When the load generator saturates its core (client CPU near 1), both rates are the
            # client's: server CPU per answered request is then the fairer comparison.
            l_us, r_us = l["server_cpu"] * 1e6 / l["rps"], r["server_cpu"] * 1e6 / r["rps"]
            row(f"  server CPU per request (µs); client CPU", f"{l_us:.2f}; {l['client_cpu']:.2f}",
                f"ref {r_us:.2f}; {r['client_cpu']:.2f}", f"{r_us / l_us:.2f}× efficiency")
    quiet = sock.get("latchkey-log-warning", {}).get("64")
    if quiet and "64" in ref:
        row("  64 conn, --log-level warning", f"{quiet['rps']:,.0f}", f"ref {ref['64']['rps']:,.0f}",
            f"{quiet['rps'] / ref['64']['rps']:.2f}×")
    if lt:
        other = []
        if curl:
            other.append(f"curl {curl:.2f}")
        if oidc:
            other.append(f"oidc-token {oidc:.2f}")
        c_client = cli.get("C client (one request)", {}).get("median_ms")
        if c_client:
            other.append(f"C {c_client:.2f}")
        row("latchkey token, per call (ms, median)", f"{lt:.2f}", ", ".join(other),
            f"{lt / curl:.2f}× curl" if curl else "", "≤ 0.5× curl", lt / curl <= 0.5 if curl else None)
        if oidc:
            row("", "", "", f"{lt / oidc:.2f}× oidc-token", "≤ 1× oidc-token", lt <= oidc)
        else:
            row("", "", "oidc-token: " + cli.get("oidc_note", "not measured"), "", "≤ 1× oidc-token", None)
    for c in sorted(neg, key=int):
        row(f"Negotiate header, {c} conn: headers/s", f"{neg[c]['rps']:,.0f}", f"p99 {neg[c]['p99_us']:.0f} µs",
            "", "≥ 2,000/s" if neg[c]["rps"] == neg_best else "", (neg_best >= 2000) if neg[c]["rps"] == neg_best else None)
    if burst:
        row("1000 requests, expired token: provider calls", "/".join(str(c) for c in burst_summary["provider_calls"]),
            "all 200" if burst_summary["all_200"] else "NOT all 200", "", "1", all(c == 1 for c in burst_summary["provider_calls"]))
        row("  latency p50 / p90 / p99 / max (ms)",
            f"{burst_summary['p50_ms']:.0f} / {burst_summary['p90_ms']:.0f} / {burst_summary['p99_ms']:.0f} / {burst_summary['max_ms']:.0f}")
    if memory["one_account_idle_rss_mb"] is not None:
        row("daemon RSS idle, 1 account (MB)", f"{memory['one_account_idle_rss_mb']:.1f}",
            f"PSS {memory['one_account_idle_pss_mb']:.1f}, anon {memory['one_account_idle_anon_mb']:.1f}, "
            f"after load {memory['one_account_after_load_rss_mb']:.1f}", "", "≤ 20", memory["one_account_idle_rss_mb"] <= 20)
    if memory["many_idle_rss_mb"] is not None:
        row("daemon RSS, 10,000 accounts (MB)", f"{memory['many_idle_rss_mb']:.1f}",
            f"PSS {memory['many_idle_pss_mb']:.1f}, anon {memory['many_idle_anon_mb']:.1f}", "", "≤ 150",
            memory["many_idle_rss_mb"] <= 150)
        row("  daemon start-up with 10,000 accounts (s)", f"{memory['many_startup_s']:.1f}",
            f"1 account {memory['one_account_startup_s']:.2f}")
        row("  idle CPU with 10,000 accounts (cores)", f"{memory['many_idle_cpu_cores']:.3f}")
    if memory["status_ms"] is not None:
        row("latchkey status, 10,000 accounts (ms)", f"{memory['status_ms']:.0f}", f"--json {memory['status_json_ms']:.0f}",
            "", "≤ 200", memory["status_ms"] <= 200)
    for m in micro:
        mallocs = m.get("mallocs")
        row("micro: " + m["name"], fmt_us(m["p50_us"]), f"{mallocs:.0f} mallocs" if mallocs is not None else "")

    headers = ("measure", "Latchkey", "compared with", "ratio", "target", "met")
    widths = [max(len(str(r[i])) for r in rows + [headers]) for i in range(6)]
    widths[0] = min(widths[0], 78)
    print()
    print(f"Latchkey benchmarks — {machine.get('date', '')}, commit {machine.get('commit', '?')}, "
          f"{machine.get('nproc', '?')} × {machine.get('cpu', '?')}, kernel {machine.get('kernel', '?')}; "
          f"medians of {machine.get('rounds', '?')} rounds")
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths)))
    print("  ".join("-" * w for w in widths))
    for r in rows:
        print("  ".join(str(v)[:w].ljust(w) for v, w in zip(r, widths)).rstrip())
    print()
    met = sum(1 for t in targets if t["met"])
    print(f"targets met: {met} of {len(targets)}; results: {out_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
