"""Turn measurements into checks, ratios, target verdicts and a printable table.

Correctness comes first: a fast run that dropped or duplicated rows is a bug, not a
result, so `checks` lists every way the ingest summaries differ from what N implies.
"""

from __future__ import annotations

import os
import platform
import sqlite3
from typing import Any

from measure import Measurement

#: From the performance issue: share of the bare-driver limit, speed-up over dlt, memory.
TARGETS = {"fraction_of_bare": 0.60, "times_dlt": 10.0, "peak_rss_mb": 500.0}
#: From the PostgreSQL issue (N = 1,000,000, raw strategy): share of the bare COPY limit,
#: speed-up over dlt's postgres merge, and re-ingest speed-up over the first ingest.
PG_TARGETS = {"pg_fraction_of_bare": 0.60, "pg_times_dlt": 5.0, "pg_reingest_speedup": 3.0}
#: Cores of CPU used by other processes during a step above which its figure is suspect.
BUSY_CORES = 0.25


#: (ratio key, label, format kind, digits) of the ratio lines under the table.
RATIO_LINES = (
    ("fraction_of_bare", "a/b (fraction of bare limit)", "%", 0),
    ("times_dlt", "a/c (times faster than dlt)", "f", 1),
    ("pg_fraction_of_bare", "pa/pb (fraction of bare COPY limit)", "%", 0),
    ("pg_times_dlt", "pa/pc (times faster than dlt's postgres merge)", "f", 1),
    ("pg_reingest_speedup", "pa2/pa (re-ingest speed-up)", "f", 1),
)


def checks(n: int, results: dict[str, Measurement]) -> list[str]:
    """Every step must have taken all N orders (dlt's second merge must still hold N
    rows); re-ingest must be all duplicates."""
    failures = [
        f"{m.key}: {m.records} records, expected {n}" for m in results.values() if m.records != n
    ]
    first = {"raw_stored": n, "records_created": n, "quarantined": 0}
    again = {
        "raw_duplicates": n,
        "records_unchanged": n,
        "raw_stored": 0,
        "records_created": 0,
        "records_updated": 0,
        "quarantined": 0,
    }
    simple = {"records_created": n, "quarantined": 0}
    expected = {"a": first, "a2": again, "a3": simple, "pa": first, "pa2": again, "pa3": simple}
    for key, fields in expected.items():
        if key not in results:
            continue
        summary = results[key].summary
        failures += [
            f"{key}: {name}={summary.get(name)}, expected {want}"
            for name, want in fields.items()
            if summary.get(name) != want
        ]
    return failures


def _times(x: Measurement | None, y: Measurement | None, inner: bool = False) -> float | None:
    """How many times x's rate is y's (None when either step did not run)."""
    if x is None or y is None:
        return None
    num, den = (x.inner_rate, y.inner_rate) if inner else (x.rate, y.rate)
    return round(num / den, 3) if den else None


def ratios(results: dict[str, Measurement]) -> dict[str, float | None]:
    """a/b = fraction of the bare limit, a/c = times faster than dlt (wall and inner);
    the same on PostgreSQL (pa/pb, pa/pc), plus pa2/pa = how much faster a re-ingest
    is than the first ingest, and pa2/pc2 = re-ingest against dlt's second merge."""
    get = results.get
    out: dict[str, float | None] = {}
    for prefix, a, b, c in (("", "a", "b", "c"), ("pg_", "pa", "pb", "pc")):
        if a not in results:
            continue
        out[f"{prefix}fraction_of_bare"] = _times(get(a), get(b))
        out[f"{prefix}fraction_of_bare_inner"] = _times(get(a), get(b), inner=True)
        out[f"{prefix}times_dlt"] = _times(get(a), get(c))
        out[f"{prefix}times_dlt_inner"] = _times(get(a), get(c), inner=True)
    if "pa" in results:
        out["pg_reingest_speedup"] = _times(get("pa2"), get("pa"))
        out["pg_reingest_speedup_inner"] = _times(get("pa2"), get("pa"), inner=True)
        out["pg_reingest_times_dlt_reload"] = _times(get("pa2"), get("pc2"))
    return out


def targets(ratio: dict[str, float | None], results: dict[str, Measurement]) -> dict[str, Any]:
    """The issues' targets for the backends measured, each with the measured value and
    whether it is met (None: not measured in this run)."""
    measured: dict[str, float | None] = {}
    wanted: dict[str, float] = {}
    if "a" in results:
        # the whole tree: forked workers hold memory at the same time as the writer
        rss = round(max(results["a"].peak_rss_mb, results["a"].peak_tree_rss_mb), 1)
        measured = {
            "fraction_of_bare": ratio["fraction_of_bare"],
            "times_dlt": ratio["times_dlt"],
            "peak_rss_mb": rss,
        }
        wanted.update(TARGETS)
    if "pa" in results:
        measured.update({k: ratio[k] for k in PG_TARGETS})
        wanted.update(PG_TARGETS)
    verdicts: dict[str, Any] = {}
    for name, target in wanted.items():
        value = measured[name]
        if value is None:
            met = None
        else:
            met = value < target if name == "peak_rss_mb" else value >= target
        verdicts[name] = {"target": target, "measured": value, "met": met}
    return verdicts


def machine(postgres: str | None = None) -> dict[str, Any]:
    """Enough about the host to compare figures between runs."""
    return {
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "postgresql": postgres,
    }


def table(result: dict[str, Any]) -> str:
    """The human view: one row per step, then ratios, targets and failed checks.

    `cpu s` is the step's own processes, `srv s` the PostgreSQL backends serving it,
    `others` the cores anything else on the machine used meanwhile."""
    head = (
        f"{'step':<4} {'what':<34} {'rec/s':>9} {'rec/s inner':>11} {'wall s':>8} "
        f"{'cpu s':>7} {'srv s':>7} {'others':>6} {'RSS MB':>7} {'tree MB':>7}"
    )
    code = result["code"]
    rev = (code["revision"] or "?")[:10] + ("+dirty" if code["src_dirty"] else "")
    lines = [
        f"N={result['n']:,}  file={result['file_bytes'] / 1e6:.1f} MB  "
        f"cpus={result['machine']['cpus']}  ingestry={rev}",
        head,
        "-" * len(head),
    ]
    for key, m in result["measurements"].items():
        server = m["server_cpu_seconds"]
        lines.append(
            f"{key:<4} {m['label']:<34} {m['records_per_second']:>9,.0f} "
            f"{m['inner_records_per_second']:>11,.0f} {m['wall_seconds']:>8.2f} "
            f"{m['cpu_seconds']:>7.2f} {'' if server is None else f'{server:.2f}':>7} "
            f"{m['other_cpu_cores']:>6.2f} {m['peak_rss_mb']:>7.0f} {m['peak_tree_rss_mb']:>7.0f}"
        )
    r = result["ratios"]
    lines += [
        f"{label}: {r[key]:.{digits}{kind}}{unit} (inner {r[key + '_inner']:.{digits}{kind}}{unit})"
        for key, label, kind, digits in RATIO_LINES
        if r.get(key) is not None
        for unit in ["" if kind == "%" else "x"]
    ]
    if r.get("pg_reingest_times_dlt_reload") is not None:
        lines.append(
            f"pa2/pc2 (re-ingest vs dlt's second merge): {r['pg_reingest_times_dlt_reload']:.1f}x"
        )
    for name, t in result["targets"].items():
        verdict = {True: "met", False: "MISSED", None: "not measured"}[t["met"]]
        lines.append(f"target {name}: {t['measured']} vs {t['target']} -> {verdict}")
    lines += [
        f"WARNING: {key}: other processes used {m['other_cpu_cores']:.2f} cores meanwhile;"
        " its rate (and any ratio using it) is not comparable"
        for key, m in result["measurements"].items()
        if m["other_cpu_cores"] > BUSY_CORES
    ]
    lines += [f"CHECK FAILED: {f}" for f in result["check_failures"]]
    return "\n".join(lines)
