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
#: Cores of CPU used by other processes during a step above which its figure is suspect.
BUSY_CORES = 0.25


def checks(n: int, results: dict[str, Measurement]) -> list[str]:
    """Every step must have taken all N orders; re-ingest must be all duplicates."""
    failures = [
        f"{m.key}: {m.records} records, expected {n}" for m in results.values() if m.records != n
    ]
    expected = {
        "a": {"raw_stored": n, "records_created": n, "quarantined": 0},
        "a2": {
            "raw_duplicates": n,
            "records_unchanged": n,
            "raw_stored": 0,
            "records_created": 0,
            "records_updated": 0,
            "quarantined": 0,
        },
        "a3": {"records_created": n, "quarantined": 0},
    }
    for key, fields in expected.items():
        summary = results[key].summary
        failures += [
            f"{key}: {name}={summary.get(name)}, expected {want}"
            for name, want in fields.items()
            if summary.get(name) != want
        ]
    return failures


def ratios(results: dict[str, Measurement]) -> dict[str, float | None]:
    """a/b = fraction of the bare limit, a/c = times faster than dlt (wall and inner)."""
    a, b, c = results["a"], results["b"], results.get("c")
    return {
        "fraction_of_bare": round(a.rate / b.rate, 3),
        "fraction_of_bare_inner": round(a.inner_rate / b.inner_rate, 3),
        "times_dlt": round(a.rate / c.rate, 2) if c else None,
        "times_dlt_inner": round(a.inner_rate / c.inner_rate, 2) if c else None,
    }


def targets(ratio: dict[str, float | None], results: dict[str, Measurement]) -> dict[str, Any]:
    """The issue's targets, each with the measured value and whether it is met."""
    # the whole tree: forked workers hold memory at the same time as the writer
    rss = round(max(results["a"].peak_rss_mb, results["a"].peak_tree_rss_mb), 1)
    measured = {
        "fraction_of_bare": ratio["fraction_of_bare"],
        "times_dlt": ratio["times_dlt"],
        "peak_rss_mb": rss,
    }
    met: dict[str, bool | None] = {
        "fraction_of_bare": (ratio["fraction_of_bare"] or 0.0) >= TARGETS["fraction_of_bare"],
        "times_dlt": None
        if ratio["times_dlt"] is None
        else ratio["times_dlt"] >= TARGETS["times_dlt"],
        "peak_rss_mb": rss < TARGETS["peak_rss_mb"],
    }
    return {k: {"target": TARGETS[k], "measured": measured[k], "met": met[k]} for k in TARGETS}


def machine() -> dict[str, Any]:
    """Enough about the host to compare figures between runs."""
    return {
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
    }


def table(result: dict[str, Any]) -> str:
    """The human view: one row per step, then ratios, targets and failed checks."""
    head = (
        f"{'step':<4} {'what':<34} {'rec/s':>9} {'rec/s inner':>11} {'wall s':>8} "
        f"{'RSS MB':>7} {'tree MB':>7}"
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
        lines.append(
            f"{key:<4} {m['label']:<34} {m['records_per_second']:>9,.0f} "
            f"{m['inner_records_per_second']:>11,.0f} {m['wall_seconds']:>8.2f} "
            f"{m['peak_rss_mb']:>7.0f} {m['peak_tree_rss_mb']:>7.0f}"
        )
    r = result["ratios"]
    lines.append(
        f"a/b (fraction of bare limit): {r['fraction_of_bare']:.0%} "
        f"(inner {r['fraction_of_bare_inner']:.0%})"
    )
    if r["times_dlt"] is not None:
        lines.append(
            f"a/c (times faster than dlt):  {r['times_dlt']:.1f}x "
            f"(inner {r['times_dlt_inner']:.1f}x)"
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
