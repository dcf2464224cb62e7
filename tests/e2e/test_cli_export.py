"""`ingestry export` from the real CLI: exit codes, `--json` summary, raw bytes."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import orjson
import pyarrow.parquet as pq

from tests.e2e.cli import run


def _ingest(project: Path) -> None:
    ingested = run("ingest", "customer_orders", "data/samples/orders.jsonl", cwd=project)
    assert ingested.returncode == 0, ingested.stderr


def test_export_parquet_prints_files_and_records(project: Path, tmp_path: Path) -> None:
    assert (
        run("ingest", "customer_orders", "data/samples/orders.jsonl", cwd=project).returncode == 0
    )
    out = tmp_path / "out"
    result = run("export", "customer_orders", "--format", "parquet", "--out", str(out),
                 "--where", "total>100", "--json", cwd=project)  # fmt: skip
    assert result.returncode == 0, result.stderr
    summary = orjson.loads(result.stdout)
    [path] = summary["files"]
    assert Path(path).parent == out and path.endswith(".parquet")
    counted = run("records", "list", "--convention", "order", "--where", "total>100", "--count",
                  cwd=project)  # fmt: skip
    assert summary["records"] == orjson.loads(counted.stdout)["count"] > 0
    assert pq.read_table(path).num_rows == summary["records"]


def test_raw_bundle_bytes_are_raw_show_bytes(project: Path, tmp_path: Path) -> None:
    assert (
        run("ingest", "customer_orders", "data/samples/orders.jsonl", cwd=project).returncode == 0
    )
    out = tmp_path / "bundle"
    result = run("export", "customer_orders", "--raw", "--out", str(out), "--json", cwd=project)
    assert result.returncode == 0, result.stderr
    summary = orjson.loads(result.stdout)
    assert summary["payloads"] > 0 and len(summary["files"]) == 3
    first = json.loads((out / "customer_orders_raw.jsonl").read_bytes().splitlines()[0])
    shown = run("raw", "show", "customer_orders", first["source_id"], "--bytes", cwd=project)
    assert base64.b64decode(first["bytes"]) == shown.stdout


def test_exit_codes(project: Path, tmp_path: Path) -> None:
    out = str(tmp_path / "o")
    neither = run("export", "--format", "csv", "--out", out, cwd=project)
    assert neither.returncode == 2 and b"exactly one of SOURCE or --convention" in neither.stderr
    unknown = run("export", "nope", "--out", out, cwd=project)
    assert unknown.returncode == 1 and b"nope" in unknown.stderr
    bad = run("export", "customer_orders", "--where", "note=x", "--out", out, cwd=project)
    assert bad.returncode == 2 and b"'note' is not a declared column" in bad.stderr
    simple = run("export", "orders_simple", "--raw", "--out", out, cwd=project)
    assert simple.returncode == 1 and b"keeps no raw payloads" in simple.stderr
    mixed = run("export", "customer_orders", "--raw", "--format", "csv", "--out", out, cwd=project)
    assert mixed.returncode == 2
    assert not Path(out).exists()


def test_history_by_default_and_current_only(project: Path, tmp_path: Path) -> None:
    """An updated record exports with its earlier version; --current-only leaves it out;
    --raw refuses --current-only (usage, exit 2)."""
    sample = project / "data" / "samples" / "orders.jsonl"
    first = orjson.loads(sample.read_bytes().splitlines()[0])
    changed = tmp_path / "changed.jsonl"
    changed.write_bytes(orjson.dumps({**first, "note": "changed"}) + b"\n")
    _ingest(project)
    assert run("ingest", "customer_orders", str(changed), cwd=project).returncode == 0
    every = run("export", "customer_orders", "--out", str(tmp_path / "a"), "--json", cwd=project)
    summary = orjson.loads(every.stdout)
    assert summary["versions"] == summary["records"] + 1
    only = run("export", "customer_orders", "--current-only", "--out", str(tmp_path / "b"),
               "--json", cwd=project)  # fmt: skip
    assert orjson.loads(only.stdout)["versions"] == summary["records"]
    raw = run("export", "customer_orders", "--raw", "--current-only", "--out",
              str(tmp_path / "c"), cwd=project)  # fmt: skip
    assert raw.returncode == 2


def test_include_deleted_exports_the_tombstone_marked(project: Path, tmp_path: Path) -> None:
    """A deleted record is left out by default; `--include-deleted` writes its tombstone
    marked `deleted` (its import: tests/integration/test_export_deleted.py); `--raw`
    refuses it (usage, exit 2)."""
    _ingest(project)
    listed = run("records", "list", "--convention", "order", "--json", cwd=project)
    srn = orjson.loads(listed.stdout.splitlines()[0])["srn"]
    deleted = run("records", "delete", srn, "--reason", "gone", "--by", "ops", cwd=project)
    assert deleted.returncode == 0, deleted.stderr
    plain = run("export", "customer_orders", "--out", str(tmp_path / "a"), "--json", cwd=project)
    every = run("export", "customer_orders", "--include-deleted", "--out", str(tmp_path / "b"),
                "--json", cwd=project)  # fmt: skip
    assert every.returncode == 0, every.stderr
    assert orjson.loads(every.stdout)["records"] == orjson.loads(plain.stdout)["records"] + 1
    [path] = orjson.loads(every.stdout)["files"]
    marks = [x["deleted"] for x in map(orjson.loads, Path(path).read_bytes().splitlines())
             if "deleted" in x]  # fmt: skip
    assert [(m["by"], m["reason"]) for m in marks] == [("ops", "gone")]
    raw = run("export", "customer_orders", "--raw", "--include-deleted", "--out",
              str(tmp_path / "c"), cwd=project)  # fmt: skip
    assert raw.returncode == 2
