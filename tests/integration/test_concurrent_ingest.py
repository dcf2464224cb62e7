"""Two `ingestry ingest` processes on the same source with overlapping files, at once.

200,000 rows: file A has ids 0..99,999, file B ids 50,000..149,999. Half of B's
overlap is byte-identical to A, a third of it changed content. B reaches the overlap at
the same point of its run as A but walks it backwards, so the two writers meet inside
the overlap from opposite directions. Afterwards: no duplicate record, no lost row, no
error surfaced, every version accounted for by the history, and the two summaries add
up exactly.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from tests.backends import Database

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

N = 100_000
OVERLAP = range(N // 2, N)
CONFIG = """\
database: {url}
conventions:
  order:
    columns:
      created_at: {{path: created_at, type: timestamp, required: true}}
      total:      {{path: total, type: decimal}}
      email:      {{path: customer.email, type: text, index: true}}
sources:
  orders:
    strategy: raw
    convention: order
    rationale: concurrency test
    format: jsonl
    id: id
"""


@pytest.fixture
def backend() -> str:
    return "postgres"


def _line(i: int, changed: bool = False) -> bytes:
    total = f"{i}.99" if changed else f"{i}.00"
    return orjson.dumps(
        {
            "id": f"C-{i:06d}",
            "created_at": "2026-11-01T10:00:00Z",
            "total": total,
            "customer": {"email": f"c{i}@example.com"},
            "note": "x" * 40,
        }
    )


def _changed(i: int) -> bool:
    return i in OVERLAP and i % 3 == 0


def _write_files(root: Path) -> tuple[Path, Path]:
    a, b = root / "a.jsonl", root / "b.jsonl"
    a.write_bytes(b"\n".join(_line(i) for i in range(N)) + b"\n")
    order = [*range(N, N + N // 2), *reversed(OVERLAP)]
    b.write_bytes(b"\n".join(_line(i, _changed(i)) for i in order) + b"\n")
    return a, b


def test_two_concurrent_ingests_of_overlapping_files(tmp_path: Path, db: Database) -> None:
    (tmp_path / "ingestry.yaml").write_text(CONFIG.format(url=db.url))
    a, b = _write_files(tmp_path)
    # migrate first so that both processes race on the data, not on creating the schema
    # (an empty schema raced on is covered by test_schema_postgres)
    env = {k: v for k, v in os.environ.items() if not k.startswith("INGESTRY_")}
    setup = subprocess.run(
        [sys.executable, "-m", "ingestry", "db", "upgrade"],
        cwd=tmp_path, env=env, capture_output=True, timeout=120, check=False,
    )  # fmt: skip
    assert setup.returncode == 0, setup.stderr
    command = [sys.executable, "-m", "ingestry", "ingest", "orders"]
    procs = [
        subprocess.Popen(
            [*command, str(path), "--json"],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for path in (a, b)
    ]
    outputs = [p.communicate(timeout=900) for p in procs]
    for proc, (_, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err.decode()[-3000:]
        assert b"deadlock" not in err.lower() and b"Traceback" not in err
    summaries = [orjson.loads(out) for out, _ in outputs]

    changed = sum(1 for i in OVERLAP if _changed(i))
    ids = N + N // 2
    assert db.count("records_order") == ids
    assert db.scalar("SELECT count(DISTINCT source_id) FROM records_order") == ids
    assert db.count("raw_payloads") == ids + changed  # identical bytes deduped
    assert db.count("raw_keys") == ids + changed
    assert db.count("record_versions") == changed
    versions = dict(db.rows("SELECT version, count(*) FROM records_order GROUP BY version"))
    assert versions == {1: ids - changed, 2: changed}
    updated = {
        int(r[0][2:]) for r in db.rows("SELECT source_id FROM records_order WHERE version = 2")
    }
    assert updated == {i for i in OVERLAP if _changed(i)}
    assert _inconsistent_histories(db) == 0

    def total(key: str) -> int:
        return sum(int(s[key]) for s in summaries)

    assert total("received") == 2 * N
    assert total("records_created") == ids
    assert total("records_updated") == changed
    assert total("records_unchanged") == 2 * N - ids - changed
    assert total("raw_stored") == ids + changed
    assert total("raw_duplicates") == 2 * N - ids - changed


def _inconsistent_histories(db: Database) -> int:
    """Records whose versions are not 1..n with each version's content different from
    the one before (so the version counts the contents the record went through)."""
    return int(
        db.scalar(
            """
            WITH every AS (
                SELECT srn, version, content_hash FROM record_versions
                UNION ALL
                SELECT 'srn:ingestry:record:order:' || source_type || ':' || upstream || ':'
                       || source_id,
                       version, content_hash
                FROM records_order
            ), ordered AS (
                SELECT srn, version, content_hash,
                       lag(content_hash) OVER (PARTITION BY srn ORDER BY version) AS before,
                       row_number() OVER (PARTITION BY srn ORDER BY version) AS n
                FROM every
            )
            SELECT count(*) FROM ordered
            WHERE version <> n OR content_hash = before
            """
        )
    )
