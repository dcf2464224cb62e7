"""The CLI contract: ingest summary, exit codes, records, raw bytes, stats (every backend)."""

from __future__ import annotations

from pathlib import Path

import orjson

from tests.backends import Database
from tests.e2e.cli import run

CONTRACT_KEYS = [
    "source",
    "received",
    "raw_stored",
    "raw_duplicates",
    "records_created",
    "records_updated",
    "records_unchanged",
    "quarantined",
    "seconds",
]


def test_ingest_json_summary_and_second_run(project: Path) -> None:
    first = run("ingest", "customer_orders", "data/samples/orders.jsonl", "--json", cwd=project)
    assert first.returncode == 0, first.stderr
    summary = orjson.loads(first.stdout)
    assert list(summary)[: len(CONTRACT_KEYS)] == CONTRACT_KEYS
    assert summary["received"] == 46 and summary["quarantined"] == 3
    assert summary["records_created"] == 43
    assert first.stderr == b""  # piped: no progress bar, no noise
    second = orjson.loads(
        run("ingest", "customer_orders", "data/samples/orders.jsonl", "--json", cwd=project).stdout
    )
    assert second["raw_duplicates"] == 46 and second["raw_stored"] == 0
    assert second["records_unchanged"] == 43 and second["records_created"] == 0


def test_stdin_ingest(project: Path) -> None:
    line = b'{"id":"IN-1","type":"order","created_at":"2026-01-01T00:00:00Z"}\n'
    result = run("ingest", "customer_orders", "-", "--json", cwd=project, stdin=line)
    assert result.returncode == 0, result.stderr
    assert orjson.loads(result.stdout)["records_created"] == 1
    raw = run("raw", "show", "customer_orders", "IN-1", "--bytes", cwd=project)
    assert raw.stdout == line.rstrip(b"\n")


def test_raw_show_bytes_is_exact(project: Path) -> None:
    run("ingest", "customer_orders", "data/samples/orders.jsonl", cwd=project)
    lines = (project / "data/samples/orders.jsonl").read_bytes().splitlines()
    for ident in ("ORD-2001", "ORD-2002", "ORD-2003"):
        expected = next(ln for ln in lines if f'"id":"{ident}"'.encode() in ln)
        shown = run("raw", "show", "customer_orders", ident, "--bytes", cwd=project)
        assert shown.returncode == 0
        assert shown.stdout == expected


def test_records_list_json_lines(project: Path) -> None:
    run("ingest", "customer_orders", "data/samples/orders.jsonl", cwd=project)
    result = run("records", "list", "--convention", "order", "--limit", "5", "--json", cwd=project)
    assert result.returncode == 0, result.stderr
    rows = [orjson.loads(ln) for ln in result.stdout.splitlines()]
    assert len(rows) == 5
    for row in rows:
        assert {
            "srn",
            "convention",
            "source",
            "version",
            "published_at",
            "columns",
            "metadata",
        } <= set(row)
        assert row["source"]["type"] == "harvest" and row["source"]["id"].startswith("ORD-")
        assert row["convention"] == "order" and row["version"] == 1
        assert isinstance(row["columns"], dict) and isinstance(row["metadata"], dict)
    got = run("records", "get", rows[0]["srn"], cwd=project)
    assert orjson.loads(got.stdout)["srn"] == rows[0]["srn"]


def test_stats_json(project: Path) -> None:
    run("ingest", "customer_orders", "data/samples/orders.jsonl", cwd=project)
    result = run("stats", "--json", cwd=project)
    stats = orjson.loads(result.stdout)
    assert stats["customer_orders"] == {"raw_rows": 46, "records": 43, "quarantined": 3}


def test_unknown_source_exits_1_and_writes_nothing(project: Path, db: Database) -> None:
    result = run("ingest", "nope", "data/samples/orders.jsonl", cwd=project)
    assert result.returncode == 1
    assert b"unknown source 'nope'" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert db.untouched()


def test_missing_file_exits_1_and_writes_nothing(project: Path, db: Database) -> None:
    result = run(
        "ingest", "customer_orders", "data/samples/orders.jsonl", "missing.jsonl", cwd=project
    )
    assert result.returncode == 1
    assert result.stderr.strip() == b"error: cannot read missing.jsonl: no such file"
    assert db.untouched()


def test_config_error_names_file_key_and_line(project: Path, db: Database) -> None:
    config = project / "ingestry.yaml"
    config.write_text(config.read_text().replace("strategy: raw", "strategy: rawr", 1))
    result = run("ingest", "customer_orders", "data/samples/orders.jsonl", cwd=project)
    assert result.returncode == 1
    message = result.stderr.decode()
    assert "ingestry.yaml" in message and "sources.customer_orders.strategy" in message
    line = config.read_text().splitlines().index("    strategy: rawr") + 1
    assert f"(line {line})" in message
    assert db.untouched()


def test_usage_error_exits_2(local_project: Path) -> None:
    assert run("ingest", cwd=local_project).returncode == 2
    assert run("no-such-command", cwd=local_project).returncode == 2


def test_strict_exits_1_and_rolls_back(project: Path) -> None:
    result = run("ingest", "customer_orders", "data/samples/orders.jsonl", "--strict", cwd=project)
    assert result.returncode == 1
    assert b"line 13" in result.stderr and b"nothing was written" in result.stderr
    stats = orjson.loads(run("stats", "--json", cwd=project).stdout)
    assert stats["customer_orders"] == {"raw_rows": 0, "records": 0, "quarantined": 0}


def test_quarantine_list(project: Path) -> None:
    run("ingest", "customer_orders", "data/samples/orders.jsonl", cwd=project)
    result = run("quarantine", "list", "customer_orders", "--json", cwd=project)
    rows = [orjson.loads(ln) for ln in result.stdout.splitlines()]
    assert [r["line"] for r in rows] == [13, 26, 34]
    assert all(r["reason"] for r in rows)


def test_config_from_env_and_database_override(
    project: Path, tmp_path: Path, db: Database, other_db: Database
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {
        "INGESTRY_CONFIG": str(project / "ingestry.yaml"),
        "INGESTRY_DATABASE_URL": other_db.url,
    }
    result = run(
        "ingest",
        "exchange_rates",
        str(project / "data/samples/exchange_rates.csv"),
        "--json",
        cwd=elsewhere,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    assert other_db.count("records_exchange_rate") == 30
    assert db.untouched()


def test_run_ingests_configured_files(project: Path) -> None:
    result = run("run", "--json", cwd=project)
    assert result.returncode == 0, result.stderr
    summaries = {s["source"]: s for s in map(orjson.loads, result.stdout.splitlines())}
    assert set(summaries) == {"customer_orders", "exchange_rates"}
    assert summaries["exchange_rates"]["records_created"] == 30


def test_python_dash_m_and_version(local_project: Path) -> None:
    result = run("--version", cwd=local_project)
    assert result.returncode == 0 and b"0.1.0" in result.stdout
