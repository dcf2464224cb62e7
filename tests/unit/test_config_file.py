"""Writing one key back into ingestry.yaml keeps every other byte (comments included)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from ingestry.adapters.config_file import ConfigEditError, set_source_key
from ingestry.config import parse_settings
from ingestry.domain.errors import ConfigError

CONFIG = """\
# my registry
conventions:
  thing: {columns: {}}
sources:
  a:   # the first source
    strategy: simple   # for now
    convention: thing
    rationale: re-fetchable
  b: {strategy: simple, convention: thing, rationale: inline}
"""


def check(path: Path) -> Callable[[str], object]:
    """What the store passes: the config parser on the new text."""
    return lambda text: parse_settings(text, path, {})


def test_the_value_changes_and_nothing_else(tmp_path: Path) -> None:
    path = tmp_path / "ingestry.yaml"
    path.write_text(CONFIG, encoding="utf-8")
    set_source_key(path, "a", "strategy", "raw", check=check(path))
    set_source_key(path, "b", "strategy", "raw", check=check(path))
    assert path.read_text(encoding="utf-8") == CONFIG.replace(
        "strategy: simple   # for now", "strategy: raw   # for now"
    ).replace("{strategy: simple,", "{strategy: raw,")


def test_an_invalid_result_or_missing_key_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "ingestry.yaml"
    path.write_text(CONFIG, encoding="utf-8")
    with pytest.raises(ConfigError):
        set_source_key(path, "a", "strategy", "sideways", check=check(path))
    with pytest.raises(ConfigEditError):
        set_source_key(path, "missing", "strategy", "raw", check=check(path))
    assert path.read_text(encoding="utf-8") == CONFIG
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ingestry.yaml"]
