"""An import writes each version's exported times in the upsert itself (issue 17, import
speed): version 1 its published_at and updated_at, a later version its updated_at, and
the version it replaces is superseded at that moment; every write path of each backend
(on PostgreSQL: the staged upsert and the direct COPY of new records)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import orjson
import pytest

import ingestry
from ingestry.domain.records import record_srn
from ingestry.store import Store
from tests.backends import Database, database
from tests.conftest import DEFAULT_SQLITE, _server, write_project
from tests.integration.test_export_history import SOURCE, _updated


def _at(day: int, hour: int) -> str:
    return f"2001-02-{day:02d}T{hour:02d}:00:00.000000Z"


@contextmanager
def _target(kind: str, root: Path) -> Iterator[tuple[Store, Database]]:
    root.mkdir(parents=True)
    with database(kind, root, _server(kind)) as db:  # SQLite: data/ingestry.db under root
        write_project(root, db.url if kind == "postgres" else DEFAULT_SQLITE)
        with ingestry.open(root / "ingestry.yaml") as store:
            yield store, db


def _stamped(store: Store, out: Path) -> list[dict[str, object]]:
    """The export's lines with times of their own: record n published on day n, its
    version v updated at hour v of that day."""
    lines = [orjson.loads(x) for x in Path(store.export(SOURCE, format="jsonl", out=out).files[0])
             .read_bytes().splitlines()]  # fmt: skip
    days = {srn: n + 1 for n, srn in enumerate(dict.fromkeys(str(x["srn"]) for x in lines))}
    for line in lines:
        day = days[str(line["srn"])]
        line["published_at"] = _at(day, 0)
        line["updated_at"] = _at(day, int(line["version"]))
    return lines


def _write(path: Path, lines: list[dict[str, object]]) -> str:
    path.write_bytes(b"".join(orjson.dumps(x) + b"\n" for x in lines))
    return str(path)


def _moment(value: object) -> str:
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment.strftime("%Y-%m-%dT%H:%M:%S")


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_import_keeps_the_times_of_every_version_on_each_write_path(
    kind: str, tmp_path: Path
) -> None:
    with _target("sqlite", tmp_path / "source") as (source, _):
        _updated(source)  # A-1 at version 3, A-2 at 2, A-3 at 1
        lines = _stamped(source, tmp_path / "out")
    a3 = record_srn("order", "harvest", SOURCE, "A-3")
    with _target(kind, tmp_path / "target") as (target, db):
        # A-3 alone first: a batch of new records only, so the next batch of new records
        # (the first versions of) takes PostgreSQL's direct COPY
        target.import_export(_write(tmp_path / "a3.jsonl", [x for x in lines if x["srn"] == a3]))
        rest = _write(tmp_path / "rest.jsonl", [x for x in lines if x["srn"] != a3])
        done = target.import_export(rest)
        assert (done.records_created, done.records_updated, done.rejected) == (2, 3, 0)
        want = {
            (str(x["srn"]), int(str(x["version"]))): (x["published_at"], x["updated_at"])
            for x in lines
        }
        for _ in range(2):  # importing again changes nothing, the times included
            got = {
                (r.srn, v.version): (v.published_at, v.updated_at)
                for r in target.records("order")
                for v in target.history(r.srn)
            }
            assert got == {k: tuple(datetime.fromisoformat(str(t)) for t in v)
                           for k, v in want.items()}  # fmt: skip
            superseded = {
                (srn, version): _moment(at)
                for srn, version, at in db.rows(
                    "SELECT srn, version, superseded_at FROM record_versions"
                )
            }
            assert superseded == {
                (srn, version): _moment(want[(srn, version + 1)][1])
                for srn, version in want
                if (srn, version + 1) in want
            }
            again = target.import_export(rest)
            assert (again.records_created, again.records_updated) == (0, 0)
        # the times are not changes of their own: one feed entry per version written
        assert db.count("record_changes") == len(lines)
