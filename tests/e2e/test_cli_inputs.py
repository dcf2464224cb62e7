"""Inputs that never crash and never drop bytes, through the real CLI (every backend):
BOMs, deep nesting, unframeable documents, CSV headers, runs where nothing passes."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import orjson

from tests.e2e.cli import run

BOM = b"\xef\xbb\xbf"
ROW = b'{"id":"%s","type":"order","created_at":"2026-01-01T00:00:00Z"}'


def summary_of(result: subprocess.CompletedProcess[bytes]) -> dict[str, Any]:
    loaded = orjson.loads(result.stdout)
    assert isinstance(loaded, dict), result.stdout
    return loaded


def test_a_jsonl_file_starting_with_a_bom_is_read_like_json_and_csv(project: Path) -> None:
    first, second = ROW % b"BOM-1", ROW % b"BOM-2"
    (project / "bom.jsonl").write_bytes(BOM + first + b"\r\n" + second + b"\n")
    result = run("ingest", "customer_orders", "bom.jsonl", "--json", cwd=project)
    assert result.returncode == 0, result.stderr
    summary = summary_of(result)
    assert summary["quarantined"] == 0 and summary["records_created"] == 2
    shown = run("raw", "show", "customer_orders", "BOM-1", "--bytes", cwd=project)
    assert shown.stdout == BOM + first  # the raw bytes keep the BOM
    replay = run("replay", "customer_orders", "--json", cwd=project)
    assert replay.returncode == 0, replay.stderr
    again = summary_of(replay)
    assert again["records_unchanged"] == 2 and again["quarantined"] == 0
