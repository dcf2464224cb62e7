"""Pure lifecycle pieces: event settings and backoff, work dir names, feature files,
hook results, the `events:` config section, and the example risk hook's logic."""

from __future__ import annotations

import importlib.util
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

import pytest

from ingestry.bootstrap import event_settings
from ingestry.config import parse_settings
from ingestry.domain.errors import ConfigError
from ingestry.domain.events import (
    RECORD_PUBLISHED,
    RECORD_UPDATED,
    EventSettings,
    RecordEvent,
    event_kind,
    features_dir,
)
from ingestry.domain.features import (
    MAX_FEATURE_BYTES,
    HookResult,
    MalformedFeaturesError,
    parse_features,
)
from ingestry.domain.provenance import ForkSource
from ingestry.domain.records import record_srn
from ingestry.extract.jsonio import loads

ROOT = PurePosixPath("/data/work")
REPO = Path(__file__).resolve().parents[2]


def test_event_kind_follows_the_version() -> None:
    assert event_kind(1) == RECORD_PUBLISHED
    assert event_kind(2) == RECORD_UPDATED == event_kind(9)


def test_backoff_doubles_up_to_the_cap() -> None:
    settings = EventSettings(backoff_seconds=0.5, max_backoff_seconds=3)
    assert [settings.backoff(n) for n in range(1, 6)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    assert EventSettings().lease == 300
    assert EventSettings(lease_seconds=2).lease == 2


def test_features_dir_is_readable_and_safe() -> None:
    srn = record_srn("order", "harvest", "customer_orders", "ORD-1001")
    expected = ROOT / "order" / "harvest" / "customer_orders" / "ORD-1001" / "v2"
    assert features_dir(ROOT, srn, 2) == expected
    for hostile in ("..", ".", "a/../../etc", "x" * 200, ".hidden"):
        path = features_dir(ROOT, record_srn("order", "deposition", "", hostile), 1)
        assert path.parent.parent == ROOT / "order" / "deposition"
        assert ".." not in path.parts and len(path.parts[-2]) <= 96
    forked = features_dir(ROOT, record_srn("o", "fork", "eu 1", "a/b c"), 1)
    assert forked.parts[-3:-1] == ("eu%201", "a%2Fb%20c")
    hostile_node = features_dir(ROOT, record_srn("o", "fork", "../n", "1"), 1)
    assert hostile_node.parent.parent.parent == ROOT / "o" / "fork"  # hashed, not `..`
    hashed = features_dir(ROOT, record_srn("o", "fork", "x" * 200, "1"), 1)
    assert len(hashed.parts[-3]) == 24


def test_record_event_as_dict() -> None:
    event = RecordEvent(
        id=7, kind=RECORD_UPDATED, srn=record_srn("order", "fork", "n1", "F-1"), convention="order",
        source=ForkSource("F-1", source_node="n1"), version=2, features_dir="/w/v2",
        created_at=datetime(2026, 11, 1, tzinfo=UTC),
    )  # fmt: skip
    assert event.as_dict() == {
        "id": 7,
        "type": "RecordUpdated",
        "srn": "srn:ingestry:record:order:fork:n1:F-1",
        "convention": "order",
        "source": {"type": "fork", "id": "F-1", "source_node": "n1"},
        "version": 2,
        "features_dir": "/w/v2",
        "created_at": "2026-11-01T00:00:00+00:00",
    }


def test_parse_features() -> None:
    files = [("risk.json", b'{"risk": "high", "n": 3}'), ("count.json", b"12")]
    assert parse_features(files, loads) == [("count", 12), ("risk", {"risk": "high", "n": 3})]
    assert parse_features([], loads) == []


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ([("a.json", b"{nope")], "a.json: invalid JSON"),
        ([("a.json", b"1"), ("b.json", b"")], "b.json: invalid JSON"),
        ([("-x.json", b"1")], "feature name must match"),
        ([("big.json", b"1" * (MAX_FEATURE_BYTES + 1))], "big.json: 1048577 bytes"),
        ([(f"f{i}.json", b"1") for i in range(101)], "101 feature files"),
    ],
)
def test_malformed_features(files: list[tuple[str, bytes]], message: str) -> None:
    with pytest.raises(MalformedFeaturesError, match=message):
        parse_features(files, loads)


def test_hook_result_failure_reasons() -> None:
    assert HookResult(0, 0.1).failure(5) is None
    assert HookResult(0, 0.1).ok
    assert HookResult(2, 0.1).failure(5) == "exited with status 2"
    assert HookResult(None, 5.0, timed_out=True).failure(5) == "timed out after 5 s"
    assert HookResult(None, 0.0, error="cannot start").failure(5) == "cannot start"


def test_events_config_section() -> None:
    text = "events:\n  max_attempts: 3\n  backoff_seconds: 0.5\n  lease_seconds: 20\n"
    settings = parse_settings(text, Path("x.yaml"), {})
    assert settings.events == EventSettings(max_attempts=3, backoff_seconds=0.5, lease_seconds=20)
    assert parse_settings("", Path("x.yaml"), {}).events == EventSettings()
    with pytest.raises(ConfigError, match=r"events.max_attempts \(line 2\)"):
        parse_settings("events:\n  max_attempts: 0\n", Path("x.yaml"), {})
    with pytest.raises(ConfigError, match=r"events\.retries"):
        parse_settings("events:\n  retries: 2\n", Path("x.yaml"), {})


def test_lease_covers_the_slowest_hooks_unless_set() -> None:
    text = """\
conventions:
  order:
    hooks:
      - {name: a, run: "x", timeout: 200}
      - {name: b, run: "y", timeout: 100}
"""
    settings = parse_settings(text, Path("x.yaml"), {})
    assert event_settings(settings).lease_seconds == 360
    assert event_settings(settings, lease_seconds=5).lease_seconds == 5
    assert event_settings(parse_settings("", Path("x.yaml"), {})).lease_seconds == 300
    overridden = event_settings(settings, max_attempts=9, batch_size=3)
    assert (overridden.max_attempts, overridden.batch_size) == (9, 3)


def _risk_module() -> object:
    spec = importlib.util.spec_from_file_location("risk", REPO / "examples" / "hooks" / "risk.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_example_risk_hook_logic() -> None:
    assess = _risk_module().assess  # type: ignore[attr-defined]
    low = {
        "columns": {"total": "20.00", "paid": True, "email": "a@b"},
        "metadata": {"line_items": [{"quantity": 2}, {"quantity": 1}]},
    }
    assert assess(low) == {"item_count": 3, "total": "20.00", "risk": "low", "reasons": []}
    high = {"columns": {"total": "900", "paid": False}, "metadata": {"line_items": []}}
    result = assess(high)
    assert result["risk"] == "high"
    assert result["reasons"] == ["unpaid total 900 >= 500", "no customer email"]
    assert assess({"columns": {}, "metadata": {}})["item_count"] == 0
