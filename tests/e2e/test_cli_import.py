"""`ingestry import PATH [--as-import NODE] --json` from the real CLI."""

from __future__ import annotations

from pathlib import Path

import orjson

from tests.conftest import write_project
from tests.e2e.cli import run

KEYS = {"records_created", "records_updated", "records_unchanged", "raw_stored", "raw_duplicates"}


def test_import_a_records_list_export_into_another_store(project: Path, tmp_path: Path) -> None:
    assert (
        run("ingest", "customer_orders", "data/samples/orders.jsonl", cwd=project).returncode == 0
    )
    listed = run("records", "list", "--convention", "order", "--json", cwd=project)
    export = tmp_path / "orders.jsonl"
    export.write_bytes(listed.stdout)
    target = tmp_path / "target"
    target.mkdir()
    write_project(target)
    first = run("import", str(export), "--json", cwd=target)
    assert first.returncode == 0, first.stderr
    summary = orjson.loads(first.stdout)
    assert set(summary) >= KEYS
    assert summary["records_created"] == len(listed.stdout.splitlines()) > 0
    again = orjson.loads(run("import", str(export), "--json", cwd=target).stdout)
    assert again["records_unchanged"] == summary["records_created"]
    moved = run("records", "list", "--convention", "order", "--json", cwd=target)
    assert [orjson.loads(x)["srn"] for x in moved.stdout.splitlines()] == [
        orjson.loads(x)["srn"] for x in listed.stdout.splitlines()
    ]


def test_a_bad_line_exits_1_naming_it(local_project: Path) -> None:
    bad = local_project / "bad.jsonl"
    bad.write_bytes(b"{oops\n")
    result = run("import", str(bad), cwd=local_project)
    assert result.returncode == 1
    assert b"bad.jsonl line 1: not an exported record" in result.stderr
