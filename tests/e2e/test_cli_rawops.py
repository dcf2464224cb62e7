"""The raw-store operations from the command line (every backend): JSON shapes, exact
bytes, exit codes."""

from __future__ import annotations

from pathlib import Path

import orjson

from tests.backends import Database
from tests.e2e.cli import run

ORDERS = "data/samples/orders.jsonl"
REPLAY_KEYS = [
    "scanned",
    "records_created",
    "records_updated",
    "records_unchanged",
    "quarantined",
    "released_from_quarantine",
]


def lines(out: bytes) -> list[dict[str, object]]:
    return [orjson.loads(line) for line in out.splitlines() if line.strip()]


def test_replay_json_and_status(project: Path) -> None:
    assert run("ingest", "customer_orders", ORDERS, cwd=project).returncode == 0
    done = run("replay", "customer_orders", "--json", cwd=project)
    assert done.returncode == 0, done.stderr
    summary = orjson.loads(done.stdout)
    assert [k for k in summary if k in REPLAY_KEYS] == REPLAY_KEYS
    assert (summary["scanned"], summary["records_unchanged"], summary["quarantined"]) == (46, 43, 3)
    assert done.stderr == b""
    dry = run(
        "replay", "customer_orders", "--since", "2000-01-01", "--dry-run", "--json", cwd=project
    )
    assert orjson.loads(dry.stdout)["dry_run"] is True
    status = lines(run("status", "--json", cwd=project).stdout)
    mine = next(s for s in status if s["source"] == "customer_orders")
    assert (mine["records"], mine["stale"]) == (43, 0)
    bad = run("replay", "customer_orders", "--since", "yesterday", cwd=project)
    assert bad.returncode == 2 and b"ISO 8601" in bad.stderr
    simple = run("replay", "exchange_rates", cwd=project)
    assert simple.returncode == 1 and b"simple source" in simple.stderr


def test_quarantine_show_bytes_discard_and_list(project: Path) -> None:
    run("ingest", "customer_orders", ORDERS, cwd=project)
    (first, *_) = lines(run("quarantine", "list", "customer_orders", "--json", cwd=project).stdout)
    entry = str(first["id"])
    raw = run("quarantine", "show", entry, "--bytes", cwd=project)
    assert raw.returncode == 0
    expected = (project / ORDERS).read_bytes().splitlines()[int(str(first["line"])) - 1]
    assert raw.stdout == expected  # exactly the bytes received
    shown = orjson.loads(run("quarantine", "show", entry, "--json", cwd=project).stdout)
    assert (shown["status"], shown["line"], shown["reason"]) == (
        "open",
        first["line"],
        first["reason"],
    )
    assert run("quarantine", "discard", entry, cwd=project).returncode == 2  # --reason required
    gone = run("quarantine", "discard", entry, "--reason", "test data", "--json", cwd=project)
    assert orjson.loads(gone.stdout)["discarded"] == [int(entry)]
    after = orjson.loads(run("quarantine", "show", entry, "--json", cwd=project).stdout)
    assert (after["status"], after["resolution"], after["resolved_by"]) == (
        "discarded",
        "test data",
        "cli",
    )
    # the bytes are gone from the entry, still in the raw store until retention
    assert run("quarantine", "show", entry, "--bytes", cwd=project).stdout == expected
    twice = run("quarantine", "discard", entry, "--reason", "again", cwd=project)
    assert twice.returncode == 1 and b"discarded already" in twice.stderr
    replayed = orjson.loads(
        run("quarantine", "replay", "customer_orders", "--json", cwd=project).stdout
    )
    assert (replayed["scanned"], replayed["released_from_quarantine"]) == (2, 0)


def test_holds_retention_and_audit(project: Path, db: Database) -> None:
    run("ingest", "customer_orders", ORDERS, cwd=project)
    hold = orjson.loads(
        run("raw", "hold", "customer_orders", "--reason", "legal", "--json", cwd=project).stdout
    )
    assert hold["source"] == "customer_orders" and hold["released_at"] is None
    held = lines(run("raw", "holds", "--json", cwd=project).stdout)
    assert [h["id"] for h in held] == [hold["id"]]
    assert run("raw", "release", str(hold["id"]), cwd=project).returncode == 0
    assert run("raw", "release", str(hold["id"]), cwd=project).returncode == 1
    assert run("raw", "hold", "exchange_rates", cwd=project).returncode == 1
    reports = lines(run("retention", "run", "--json", cwd=project).stdout)
    assert [(r["source"], r["rows_purged"]) for r in reports] == [("customer_orders", 0)]
    audit = lines(run("retention", "audit", "--json", cwd=project).stdout)
    assert [(a["source"], a["actor"]) for a in audit] == [("customer_orders", "cli")]
    assert db.count("raw_payloads") == 46


def test_migrate_to_raw_and_refusal(project: Path) -> None:
    run("ingest", "exchange_rates", "data/samples/exchange_rates.csv", cwd=project)
    refused = run("sources", "migrate", "customer_orders", "--to", "simple", cwd=project)
    assert refused.returncode == 1
    assert b"raw data is never demoted" in refused.stderr
    moved = run("sources", "migrate", "exchange_rates", "--to", "raw", "--json", cwd=project)
    assert moved.returncode == 0, moved.stderr
    summary = orjson.loads(moved.stdout)
    assert (summary["records"], summary["raw_synthesized"], summary["config_written"]) == (
        30,
        30,
        True,
    )
    listed = lines(run("sources", "list", "--json", cwd=project).stdout)
    assert next(s for s in listed if s["name"] == "exchange_rates")["strategy"] == "raw"
    replay = orjson.loads(run("replay", "exchange_rates", "--json", cwd=project).stdout)
    assert (replay["scanned"], replay["records_unchanged"]) == (30, 30)


def test_raw_show_lists_the_receipts_and_bytes_follow_the_latest(
    project: Path, tmp_path: Path
) -> None:
    """A, B, then A again: `raw show` counts A's two receipts, names the latest one's
    run, file and line, and `--bytes` writes A (failed on main: B's bytes)."""
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    first = b'{"id": "RS-1", "created_at": "2026-11-01T10:00:00Z", "total_price": "1.00"}'
    a.write_bytes(first + b"\n")
    b.write_bytes(first.replace(b"1.00", b"2.00") + b"\n")
    runs = []
    for path in (a, b, a):
        done = run("ingest", "customer_orders", str(path), "--json", cwd=project)
        assert done.returncode == 0, done.stderr
        runs.append(orjson.loads(done.stdout)["run_srn"])
    shown = lines(run("raw", "show", "customer_orders", "RS-1", "--json", cwd=project).stdout)
    assert [(p["bytes"], p["receipts"]) for p in shown] == [(len(first), 1), (len(first), 2)]
    latest = shown[-1]
    assert (latest["last_run"], latest["last_origin"], latest["last_line"]) == (runs[2], str(a), 1)
    assert latest["last_received_at"] > latest["received_at"]
    assert shown[0]["last_run"] == runs[1]
    raw = run("raw", "show", "customer_orders", "RS-1", "--bytes", cwd=project)
    assert raw.stdout == first
    text = run("raw", "show", "customer_orders", "RS-1", cwd=project).stdout.decode()
    assert "receipts: 2" in text and f"last_run: {runs[2]}" in text
    assert text.index("receipts: 1") < text.index("receipts: 2")  # the latest comes last
