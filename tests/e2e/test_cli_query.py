"""`ingestry query "SQL" [--json|--csv] [--into SOURCE]` from the real CLI."""

from __future__ import annotations

import csv
import io
from collections import Counter
from pathlib import Path

import orjson

from tests.e2e.cli import run

COUNT_BY_DAY = (
    "SELECT CAST(created_at AS DATE) AS day, count(*) AS n, sum(item_count) AS items "
    'FROM "order" GROUP BY 1 ORDER BY 1'
)


def _listed(project: Path) -> list[dict[str, object]]:
    out = run("records", "list", "--convention", "order", "--json", cwd=project).stdout
    return [orjson.loads(line) for line in out.splitlines()]


def test_json_and_csv_output(project: Path) -> None:
    assert (
        run("ingest", "customer_orders", "data/samples/orders.jsonl", cwd=project).returncode == 0
    )
    every = _listed(project)
    want = Counter(str(r["columns"]["created_at"])[:10] for r in every)  # type: ignore[index]
    as_json = run("query", COUNT_BY_DAY, "--json", cwd=project)
    assert as_json.returncode == 0, as_json.stderr
    rows = [orjson.loads(line) for line in as_json.stdout.splitlines()]
    assert {r["day"]: r["n"] for r in rows} == dict(want)
    as_csv = run("query", COUNT_BY_DAY, "--csv", cwd=project)
    parsed = list(csv.DictReader(io.StringIO(as_csv.stdout.decode())))
    assert {r["day"]: int(r["n"]) for r in parsed} == dict(want)
    table = run("query", COUNT_BY_DAY, cwd=project)
    assert table.returncode == 0 and b"items" in table.stdout


def test_a_write_is_refused_with_exit_1(project: Path) -> None:
    result = run("query", 'DELETE FROM "order"', cwd=project)
    assert result.returncode == 1
    assert b"read-only" in result.stderr and b"Traceback" not in result.stderr


def test_exact_decimal_in_json(project: Path) -> None:
    line = (
        b'{"id": "D-1", "created_at": "2026-11-01T10:00:00Z", '
        b'"total_price": 12345678901234567890.123456789}\n'
    )
    assert run("ingest", "customer_orders", "-", cwd=project, stdin=line).returncode == 0
    out = run("query", 'SELECT total FROM "order"', "--json", cwd=project).stdout
    assert out == b'{"total":"12345678901234567890.123456789"}\n'
