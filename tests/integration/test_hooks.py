"""Hooks and features through the dispatcher, on every backend: the work_dir a hook
sees, features stored against the record version, failures recorded, idempotence."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import ingestry
from ingestry import DepositionSource, record_srn
from ingestry.store import Store
from tests.backends import Database
from tests.lifecycle import order, with_hooks

META = {"created_at": "2026-11-01T10:00:00Z", "total_price": "3.00", "note": "n"}


@pytest.fixture
def hooked(config_path: Path) -> Iterator[Store]:
    """A store whose `order` convention runs ok.py, then the three failing hooks, then
    ok.py again under another name (later hooks still run after failures)."""
    with_hooks(
        config_path,
        [
            ("ok", "ok.py", 30),
            ("fail", "fail.py", 30),
            ("hang", "hang.py", 1),
            ("garbage", "garbage.py", 30),
            ("after", "ok.py", 30),
        ],
    )
    with ingestry.open(config_path) as store:
        yield store


def test_hook_sees_the_record_and_its_raw_bytes(config_path: Path, project: Path) -> None:
    with_hooks(config_path, [("ok", "ok.py", 30)])
    with ingestry.open(config_path) as store:
        payload = b'{"id": "H-1", "created_at": "2026-11-01T10:00:00Z", "total_price": "7.5"}'
        store.ingest("customer_orders", [payload])
        srn = record_srn("order", "harvest", "customer_orders", "H-1")
        summary = store.dispatcher().run_once()
        assert summary.delivered == 1
        [feature] = store.features(srn)
    assert (feature.name, feature.hook, feature.record_version) == ("summary", "ok", 1)
    seen = feature.value
    assert seen["srn"] == srn
    assert (seen["version"], seen["record_version"], seen["event"]) == (1, 1, "RecordPublished")
    assert seen["raw"] == payload.decode()  # exact bytes of a raw source
    assert seen["columns"]["total"] == "7.5"
    assert seen["metadata_keys"] == ["id"]
    assert seen["features_empty"] is True
    assert not any((project / "data" / "work").rglob("*"))  # work_dirs are cleaned up


def test_failures_are_recorded_and_do_not_stop_other_hooks(hooked: Store, db: Database) -> None:
    srn = hooked.publish_record("order", DepositionSource("F-1"), META).srn
    summary = hooked.dispatcher().run_once()
    assert (summary.delivered, summary.retried, summary.dead) == (1, 0, 0)
    record = hooked.get(srn)  # never lost
    assert record.version == 1
    features = hooked.features(srn)
    assert [(f.hook, f.name) for f in features] == [("after", "summary"), ("ok", "summary")]
    assert features[1].value["raw"] is None  # published, not raw: no raw.bin
    runs = {r.hook: r for r in hooked.hook_runs()}
    assert {h: r.status for h, r in runs.items()} == {
        "ok": "succeeded", "fail": "failed", "hang": "failed", "garbage": "failed",
        "after": "succeeded",
    }  # fmt: skip
    fail, hang, garbage = runs["fail"], runs["hang"], runs["garbage"]
    assert fail.exit_code == 3
    assert fail.reason == "exited with status 3"
    assert fail.stderr_tail is not None and "boom: the hook failed on purpose" in fail.stderr_tail
    assert fail.stdout_tail is not None and "about to fail" in fail.stdout_tail
    assert hang.exit_code is None
    assert hang.reason == "timed out after 1 s"
    assert 0.9 < hang.duration_seconds < 30
    assert garbage.exit_code == 0
    assert garbage.reason is not None and garbage.reason.startswith(
        "malformed features: bad.json: invalid JSON"
    )
    assert garbage.features == 0
    assert all(r.srn == srn and r.version == 1 and r.event_id for r in runs.values())
    assert [r.hook for r in hooked.hook_runs(failed_only=True)] == ["fail", "hang", "garbage"]
    assert db.count("record_features") == 2
    assert hooked.pending_events() == 0


def test_redelivery_does_not_duplicate_features_or_rerun_hooks(
    config_path: Path, db: Database
) -> None:
    with_hooks(config_path, [("ok", "ok.py", 30)])
    with ingestry.open(config_path) as store:
        srn = store.publish_record("order", DepositionSource("D-1"), META).srn
        dispatcher = store.dispatcher()
        assert dispatcher.run_once().delivered == 1
        # the same event again, as after a crash between delivery and acknowledgement
        db.execute(
            "INSERT INTO record_events (srn, convention, version, created_at)"
            " VALUES (:srn, 'order', 1, '2026-11-01T10:00:00.000000+00:00')",
            srn=srn,
        )
        assert dispatcher.run_once().delivered == 1
        assert len(store.features(srn)) == 1
        assert len(store.hook_runs()) == 1
    assert db.count("record_features") == 1


def test_new_versions_get_their_own_features_and_superseded_ones_are_skipped(
    config_path: Path,
) -> None:
    with_hooks(config_path, [("ok", "ok.py", 30)])
    with ingestry.open(config_path) as store:
        srn = store.publish_record("order", DepositionSource("V-1"), META).srn
        store.dispatcher().run_once()
        store.update(srn, {**META, "note": "two"}, 1)
        store.update(srn, {**META, "note": "three"}, 2)
        assert store.dispatcher().run_once().delivered == 2
        features = store.features(srn)
        assert [f.record_version for f in features] == [1, 3]  # v2 was superseded
        assert features[1].value["event"] == "RecordUpdated"
        assert [r.version for r in store.hook_runs()] == [1, 3]


def test_hooks_do_not_run_inside_ingest(config_path: Path, db: Database) -> None:
    with_hooks(config_path, [("ok", "ok.py", 30)])
    with ingestry.open(config_path) as store:
        summary = store.ingest("customer_orders", [order(f"N-{i}") for i in range(20)])
        assert summary.records_created == 20
        assert db.count("hook_runs") == 0  # the dispatcher runs them, not the ingest
        assert store.pending_events() == 20


def test_a_hook_that_cannot_start_is_a_failed_run(config_path: Path) -> None:
    with_hooks(config_path, [("missing", "missing.py", 30)])
    text = config_path.read_text().replace("python hooks/missing.py", "no-such-program --x")
    config_path.write_text(text)
    with ingestry.open(config_path) as store:
        store.publish_record("order", DepositionSource("M-1"), META)
        assert store.dispatcher().run_once().delivered == 1
        [run] = store.hook_runs(failed_only=True)
    assert run.exit_code is None
    assert run.reason is not None and run.reason.startswith("cannot start 'no-such-program --x'")


def test_features_of_an_unknown_record(store: Store) -> None:
    with pytest.raises(ingestry.RecordNotFoundError):
        store.features(record_srn("order", "deposition", "", "none"))
