"""Long JSON Lines lines through the real CLI (every backend): a line longer than the
source's `max_line_bytes` is quarantined with its bytes, which are streamed, never held."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import orjson
import psutil
import pytest

from tests.backends import Database
from tests.e2e.cli import run

MIB = 1 << 20
SHORT = b'{"id":"%s","type":"order","created_at":"2026-01-01T00:00:00Z"}'


def long_line(ident: str, size: int, pad: bytes = b"x") -> bytes:
    """An order line of exactly `size` bytes (a long `pad` string)."""
    head = (SHORT % ident.encode())[:-1] + b',"pad":"'
    return head + pad * (size - len(head) - 2) + b'"}'


def write_file(path: Path, size: int, pad: bytes = b"x") -> bytes:
    """short line, a line of `size` bytes (CRLF), short line; returns the long line."""
    line = long_line("LONG", size, pad)
    with path.open("wb") as out:
        out.write(SHORT % b"S-1" + b"\n" + line + b"\r\n" + SHORT % b"S-2" + b"\n")
    return line


def too_long(size: int, limit: int = 16 * MIB) -> str:
    return f"line of {size:,} bytes is longer than max_line_bytes ({limit:,})"


def kept(db: Database) -> list[tuple[int, bytes, str]]:
    """(length, sha256, reason) of the open quarantine entries' payloads, read in SQL."""
    if db.kind == "postgres":
        sql = "SELECT length(payload), sha256(payload), reason FROM quarantine ORDER BY id"
        rows = db.rows(sql)
        return [(int(n), bytes(sha), str(reason)) for n, sha, reason in rows]
    rows = db.rows("SELECT payload, reason FROM quarantine ORDER BY id")
    return [(len(p), hashlib.sha256(p).digest(), str(r)) for p, r in rows]


def summary(result: subprocess.CompletedProcess[bytes]) -> dict[str, Any]:
    assert result.returncode == 0, result.stderr[-2000:]
    loaded: dict[str, Any] = orjson.loads(result.stdout)
    return loaded


def test_a_line_over_max_line_bytes_is_quarantined_with_its_bytes(
    project: Path, db: Database
) -> None:
    size = 20 * MIB
    line = write_file(project / "long.jsonl", size)
    expected = [(size, hashlib.sha256(line).digest(), too_long(size))]
    # a file of 20 MB goes to the worker processes; stdin and INGESTRY_WORKERS=0 do not
    first = summary(run("ingest", "customer_orders", "long.jsonl", "--json", cwd=project))
    assert (first["received"], first["records_created"], first["quarantined"]) == (3, 2, 1)
    assert kept(db) == expected
    inline = run("ingest", "customer_orders", "long.jsonl", "--json", cwd=project,
                 env={"INGESTRY_WORKERS": "0"})  # fmt: skip
    assert summary(inline)["raw_duplicates"] == 3 and kept(db) == expected
    other = write_file(project / "other.jsonl", size, pad=b"y")
    expected.append((size, hashlib.sha256(other).digest(), too_long(size)))
    data = (project / "other.jsonl").read_bytes()
    piped = summary(run("ingest", "customer_orders", "-", "--json", cwd=project, stdin=data))
    assert (piped["quarantined"], piped["raw_stored"]) == (1, 1)
    assert kept(db) == expected
    replay = summary(run("replay", "customer_orders", "--json", cwd=project))
    assert replay["quarantined"] == 2 and kept(db) == expected  # not parsed: same reason
    strict = run("ingest", "customer_orders", "long.jsonl", "--strict", cwd=project)
    assert strict.returncode == 1 and too_long(size).encode() in strict.stderr


def test_max_line_bytes_is_configurable_per_source_and_globally(project: Path) -> None:
    config = project / "ingestry.yaml"
    entity = "    entity_type: type\n"
    raise_limit = entity + "    max_line_bytes: 33554432\n"
    config.write_text(config.read_text().replace(entity, raise_limit, 1))
    write_file(project / "long.jsonl", 20 * MIB)
    raised = summary(run("ingest", "customer_orders", "long.jsonl", "--json", cwd=project))
    assert (raised["records_created"], raised["quarantined"]) == (3, 0)
    small = (SHORT % b"T-1") + b"\n" + long_line("T-2", 300) + b"\n"
    low = run("ingest", "orders_simple", "-", "--json", cwd=project, stdin=small,
              env={"INGESTRY_MAX_LINE_BYTES": "200"})  # fmt: skip
    assert (summary(low)["records_created"], summary(low)["quarantined"]) == (1, 1)
    listed = run("quarantine", "list", "orders_simple", "--json", cwd=project)
    assert orjson.loads(listed.stdout)["reason"] == too_long(300, 200)
    bad = run("ingest", "orders_simple", "-", cwd=project, stdin=small,
              env={"INGESTRY_MAX_LINE_BYTES": "lots"})  # fmt: skip
    assert bad.returncode == 1 and b"INGESTRY_MAX_LINE_BYTES must be a whole number" in bad.stderr


def peak_rss(args: list[str], cwd: Path, env: dict[str, str]) -> tuple[int, bytes]:
    """The largest resident set of any process of the run (sampled every 20 ms)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "ingestry", *args], cwd=cwd, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    watched = psutil.Process(process.pid)
    peak = 0
    while process.poll() is None:
        try:
            tree = [watched, *watched.children(recursive=True)]
            peak = max(peak, *(p.memory_info().rss for p in tree))
        except psutil.Error:
            pass  # a worker ended between listing and reading it
        time.sleep(0.02)
    out, err = process.communicate()
    assert process.returncode == 0, err[-2000:]
    return peak, out


@pytest.mark.slow
def test_a_200_mb_line_is_kept_with_flat_memory(project: Path, db: Database) -> None:
    size = 200 * MIB
    line = write_file(project / "huge.jsonl", size)
    digest = hashlib.sha256(line).digest()
    del line
    env = {k: v for k, v in os.environ.items() if not k.startswith("INGESTRY_")}
    baseline, _ = peak_rss(["ingest", "customer_orders", "data/samples/orders.jsonl"], project, env)
    peak, out = peak_rss(["ingest", "customer_orders", "huge.jsonl", "--json"], project, env)
    assert orjson.loads(out)["quarantined"] == 1
    assert kept(db)[-1] == (size, digest, too_long(size))  # after the sample's 3 bad rows
    if db.kind == "postgres":  # the bytes stream from the file to the server
        assert peak - baseline < 96 * MIB, (peak >> 20, baseline >> 20)
    else:  # SQLite builds the row in memory (its payload column is not the last one)
        assert peak - baseline < 3 * size, (peak >> 20, baseline >> 20)
