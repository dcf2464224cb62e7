"""Python extractors referenced from the config, on a real store (every backend)."""

from __future__ import annotations

from pathlib import Path

import pytest

import ingestry
from ingestry import ConfigError
from ingestry.domain.records import record_srn
from tests.backends import Database

MODULE = """
from ingestry import extractor

@extractor("wrapped_order", version="3")
def unwrap(doc):
    inner = doc["order"]
    return {**inner, "id": inner["number"]}

def plain(doc):
    return {"id": doc["key"], "created_at": doc["when"]}
"""

CONFIG = """\
database: {database}
conventions:
  order:
    columns:
      created_at: {path: created_at, type: timestamp, required: true}
sources:
  wrapped:
    strategy: raw
    convention: order
    rationale: partner API with an envelope
    extractor: {ref}
"""


def _project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ref: str, db: Database) -> Path:
    package = tmp_path / "mods"
    package.mkdir(parents=True)
    (package / "shop_extractors.py").write_text(MODULE)
    monkeypatch.syspath_prepend(str(package))
    config = tmp_path / "ingestry.yaml"
    config.write_text(CONFIG.replace("{ref}", ref).replace("{database}", db.url))
    return config


def test_module_function_reference(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, db: Database
) -> None:
    config = _project(tmp_path, monkeypatch, "shop_extractors:plain", db)
    with ingestry.open(config) as store:
        summary = store.ingest("wrapped", [{"key": "K-1", "when": "2026-01-01T00:00:00Z"}])
        assert summary.records_created == 1
        record = store.get(record_srn("order", "harvest", "wrapped", "K-1"))
        assert record.extractor_version is not None
        assert record.extractor_version.startswith("shop_extractors:plain@1+")


def test_decorated_extractor_keeps_its_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, db: Database
) -> None:
    config = _project(tmp_path, monkeypatch, "shop_extractors:unwrap", db)
    payload = {"order": {"number": "N-9", "created_at": "2026-01-01T00:00:00Z", "x": 1}}
    with ingestry.open(config) as store:
        store.ingest("wrapped", [payload])
        record = store.get(record_srn("order", "harvest", "wrapped", "N-9"))
        assert record.metadata == {"number": "N-9", "x": 1, "id": "N-9"}
        assert record.extractor_version is not None
        assert record.extractor_version.startswith("shop_extractors:unwrap@3+")
        # the raw bytes are the envelope as received, not the reshaped document
        (raw,) = store.raw("wrapped", "N-9")
        assert b'"order"' in raw.payload


def test_failing_extractor_quarantines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, db: Database
) -> None:
    config = _project(tmp_path, monkeypatch, "shop_extractors:unwrap", db)
    with ingestry.open(config) as store:
        summary = store.ingest("wrapped", [{"no_order": 1}])
        assert summary.quarantined == 1
        (entry,) = store.quarantine("wrapped")
        assert "extractor 'shop_extractors:unwrap' failed" in entry.reason
        assert "KeyError" in entry.reason


def test_unknown_extractor_is_a_config_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, db: Database
) -> None:
    config = _project(tmp_path, monkeypatch, "nope", db)
    with (
        ingestry.open(config) as store,
        pytest.raises(ConfigError, match="'nope' is not registered"),
    ):
        store.ingest("wrapped", [{"key": "K-1"}])
    bad_import = _project(tmp_path / "b", monkeypatch, "no_such_module:fn", db)
    with (  # the store opens: only the commands of the source naming it fail
        ingestry.open(bad_import) as store,
        pytest.raises(ConfigError, match=r"sources\.wrapped\.extractor: 'no_such_module:fn'"),
    ):
        store.ingest("wrapped", [{"key": "K-1"}])
