"""`runs list/show` and `stats --every` from the real CLI (the contract's fields)."""

from __future__ import annotations

from pathlib import Path

import orjson

from tests.e2e.cli import run

BUCKET_KEYS = [
    "bucket", "source", "received", "raw_stored", "raw_duplicates", "records_created",
    "records_updated", "records_unchanged", "quarantined",
]  # fmt: skip


def test_runs_and_stats_every_day(project: Path) -> None:
    for _ in range(2):
        done = run("ingest", "customer_orders", "data/samples/orders.jsonl", cwd=project)
        assert done.returncode == 0, done.stderr
    listed = run("runs", "list", "--source", "customer_orders", "--json", cwd=project)
    assert listed.returncode == 0, listed.stderr
    runs = [orjson.loads(line) for line in listed.stdout.splitlines()]
    assert [r["kind"] for r in runs] == ["ingest", "ingest"]
    assert runs[0]["summary"]["records_unchanged"] == 43  # newest first: the second run
    shown = run("runs", "show", runs[1]["srn"], cwd=project)
    assert orjson.loads(shown.stdout)["summary"]["records_created"] == 43
    missing = run("runs", "show", "srn:ingestry:harvest-run:nope", cwd=project)
    assert missing.returncode != 0 and b"runs list" in missing.stderr
    stats = run("stats", "--every", "day", "--json", cwd=project)
    assert stats.returncode == 0, stats.stderr
    (bucket,) = [orjson.loads(line) for line in stats.stdout.splitlines()]
    assert list(bucket)[: len(BUCKET_KEYS)] == BUCKET_KEYS
    assert bucket["received"] == 92 and bucket["raw_stored"] == 46
    assert bucket["raw_duplicates"] == 46 and bucket["records_created"] == 43
    assert bucket["records_unchanged"] == 43 and bucket["quarantined"] == 6
    assert bucket["bucket"].endswith("T00:00:00+00:00")
    text = run("runs", "list", cwd=project)
    assert text.returncode == 0 and runs[0]["srn"].encode() in text.stdout
    bad = run("stats", "--since", "2026-01-01", cwd=project)
    assert bad.returncode == 2 and b"--every" in bad.stderr
