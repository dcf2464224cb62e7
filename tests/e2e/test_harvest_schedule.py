"""Scheduled harvests: due runs enqueued once whatever the number of workers, run by two
real `ingestry worker` processes, never two runs of one source at once (both backends)."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path

import pytest

import ingestry
from tests.backends import Database
from tests.conftest import DEFAULT_SQLITE
from tests.e2e.processes import child_env, spawn, stop, wait_for
from tests.harvest_upstream import Upstream, make_items, serve
from tests.integration.harvest_support import as_json, records, source_yaml, write_config

START = datetime(2026, 12, 2, 10, 0, 30, tzinfo=UTC)


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    with serve(Upstream(items=make_items(200), page_size=10)) as up:
        yield up


def config(tmp_path: Path, db: Database, up: Upstream, schedule: str = "* * * * *") -> Path:
    url = db.url if db.kind == "postgres" else DEFAULT_SQLITE
    source = source_yaml("api", up.url + "/link", "{type: link_header}", None)
    source = source.replace("    pull:\n", f'    schedule: "{schedule}"\n    pull:\n')
    return write_config(tmp_path, url, source)


def test_due_runs_are_enqueued_once_per_due_time(
    tmp_path: Path, db: Database, upstream: Upstream
) -> None:
    path = config(tmp_path, db, upstream, "*/5 * * * *")
    with ingestry.open(path) as one, ingestry.open(path) as two:
        first = one.enqueue_due(START)
        again = two.enqueue_due(START + timedelta(minutes=2))  # same due time: 10:00
        later = two.enqueue_due(START + timedelta(minutes=5))  # 10:05
    assert [j.kind for j in first] == ["harvest"] and first[0].params["due"].startswith(
        "2026-12-02T10:00:00"
    )
    assert again == []
    assert len(later) == 1 and later[0].params["due"].startswith("2026-12-02T10:05:00")


def test_schedule_needs_pull_or_files(tmp_path: Path) -> None:
    source = source_yaml("api", "http://127.0.0.1:9/x", "{type: none}", None)
    broken = source.replace("    pull:\n", '    schedule: "not cron"\n    pull:\n')
    with pytest.raises(ingestry.ConfigError, match="schedule"):
        ingestry.open(write_config(tmp_path, DEFAULT_SQLITE, broken))


def test_two_workers_never_run_one_source_at_once(
    tmp_path: Path, db: Database, upstream: Upstream
) -> None:
    upstream.delay = 0.1  # 20 pages: a run lasts over 2 s
    path = config(tmp_path, db, upstream)
    with ingestry.open(path) as store:
        jobs = [store.enqueue_due(START + timedelta(minutes=m))[0] for m in range(4)]
    env = child_env()
    workers = [
        spawn("worker", cwd=tmp_path, env=env, log=tmp_path / f"worker{n}.log") for n in (1, 2)
    ]
    try:
        with ingestry.open(path) as store:

            def finished() -> bool:
                # the workers' own schedule loop enqueues this minute's run too (once)
                rows = db.rows("SELECT status FROM jobs")
                return len(rows) > len(jobs) and all(r[0] in ("succeeded", "failed") for r in rows)

            wait_for("the scheduled jobs", finished, timeout=120)
            assert records(store) == as_json(upstream.items)
            runs = sorted(store.runs("api", "harvest", 10), key=lambda r: r.started_at)
    finally:
        for worker in workers:
            stop(worker, signal.SIGTERM)
    done = db.rows("SELECT status, result, idempotency_key FROM jobs")
    assert all(status == "succeeded" for status, _, _ in done), done
    assert len({key for _, _, key in done}) == len(done)  # one job per due time
    skipped = [r for _, r, _ in done if "skipped" in str(r)]
    assert len(runs) + len(skipped) == len(done) and runs
    for before, after in pairwise(runs):
        assert before.finished_at is not None and before.finished_at <= after.started_at
