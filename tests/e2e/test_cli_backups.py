"""`ingestry backup / verify / restore` from the real CLI: JSON, exit codes, messages."""

from __future__ import annotations

from pathlib import Path

import orjson

from tests.e2e.cli import run


def test_backup_verify_restore_exit_codes(local_project: Path) -> None:
    cwd = local_project
    assert run("ingest", "customer_orders", "data/samples/orders.jsonl", cwd=cwd).returncode == 0
    made = run("backup", "--out", "b.tar", "--json", cwd=cwd)
    assert made.returncode == 0, made.stderr
    summary = orjson.loads(made.stdout)
    assert summary["ok"] is True and set(summary["files"]) == {"store.sqlite.gz"}
    assert summary["tables"]["records_order"] > 0 and len(summary["content_checksum"]) == 64

    checked = run("verify", "b.tar", "--json", cwd=cwd)
    assert checked.returncode == 0, checked.stderr
    assert orjson.loads(checked.stdout)["ok"] is True

    refused = run("restore", "b.tar", cwd=cwd)
    assert refused.returncode == 1
    assert b"already holds data; pass --replace" in refused.stderr
    assert run("restore", "b.tar", "--replace", cwd=cwd).returncode == 0

    data = (cwd / "b.tar").read_bytes()
    (cwd / "b.tar").write_bytes(data[: len(data) // 2])  # (cutting only tar padding loses nothing)
    truncated = run("verify", "b.tar", cwd=cwd)
    assert truncated.returncode == 1
    assert b"b.tar" in truncated.stderr and b"use another one" in truncated.stderr


def test_verify_lists_a_damaged_file_and_exits_1(local_project: Path) -> None:
    cwd = local_project
    assert run("ingest", "customer_orders", "data/samples/orders.jsonl", cwd=cwd).returncode == 0
    assert run("backup", "--out", "b", cwd=cwd).returncode == 0
    data_file = cwd / "b" / "store.sqlite.gz"
    data = bytearray(data_file.read_bytes())
    data[100] ^= 0xFF
    data_file.write_bytes(bytes(data))
    checked = run("verify", "b", cwd=cwd)
    assert checked.returncode == 1
    assert b"store.sqlite.gz: sha256" in checked.stderr
    restored = run("restore", "b", "--replace", cwd=cwd)
    assert restored.returncode == 1
    assert b"Nothing was restored" in restored.stderr
