"""The validated-config cache (issue 15 item 8, docs/architecture.md "Validated-config
cache"): a hit returns what the parser returned; any change to the file or an override
is a miss; a damaged entry is ignored and rewritten; an invalid config still fails
with the parser's message and is never cached. Real files in a temporary project."""

from __future__ import annotations

import pickle
import re
from pathlib import Path

import pytest

from ingestry import config_cache
from ingestry.config import load_settings, parse_settings
from ingestry.domain.errors import ConfigError

CONFIG = """\
database: sqlite:///data/ingestry.db
conventions:
  order:
    columns:
      created_at: {path: created_at, type: timestamp, required: true}
      total: {path: total_price, type: decimal, decimal: ","}
sources:
  customer_orders:
    strategy: raw
    convention: order
    rationale: Customer-provided data, cannot re-fetch
    format: csv
    delimiter: ";"
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "ingestry.yaml").write_text(CONFIG, encoding="utf-8")
    return tmp_path


def entries(project: Path) -> list[Path]:
    folder = project / "data" / config_cache.NAME
    return (
        sorted(p for p in folder.iterdir() if not p.name.startswith(".")) if folder.exists() else []
    )


def test_a_second_load_is_a_hit_equal_to_the_parse(project: Path) -> None:
    file = project / "ingestry.yaml"
    first = load_settings(file, env={})
    assert first == parse_settings(CONFIG, file, {})
    [entry] = entries(project)
    assert entry.read_bytes().startswith(config_cache.MAGIC)
    second = load_settings(file, env={})
    assert second == first
    assert second.source("customer_orders").reading.dialect.delimiter == ";"
    assert entries(project) == [entry]


def test_a_hit_returns_the_entry_without_parsing(project: Path) -> None:
    """The entry is what is returned: plant a different (valid) Settings under the key."""
    file = project / "ingestry.yaml"
    load_settings(file, env={})
    [entry] = entries(project)
    planted = parse_settings(CONFIG.replace("data/ingestry.db", "other.db"), file, {})
    key = entry.read_bytes()[len(config_cache.MAGIC) :][:32]
    entry.write_bytes(config_cache.MAGIC + key + pickle.dumps(planted))
    assert load_settings(file, env={}).database_url.endswith("/other.db")


def test_an_edited_file_is_a_miss(project: Path) -> None:
    file = project / "ingestry.yaml"
    assert load_settings(file, env={}).source("customer_orders").reading.dialect.delimiter == ";"
    file.write_text(CONFIG.replace('delimiter: ";"', 'delimiter: "|"'), encoding="utf-8")
    assert load_settings(file, env={}).source("customer_orders").reading.dialect.delimiter == "|"
    assert len(entries(project)) == 2


def test_a_changed_override_is_a_miss(project: Path) -> None:
    file = project / "ingestry.yaml"
    plain = load_settings(file, env={})
    env = {"INGESTRY_DATABASE_URL": "sqlite:////tmp/elsewhere.db", "INGESTRY_CACHE_URL": "none"}
    moved = load_settings(file, env=env)
    assert (moved.database_url, moved.cache_url) == ("sqlite:////tmp/elsewhere.db", "none")
    limits = load_settings(file, env={"INGESTRY_STATEMENT_TIMEOUT": "7"}).limits
    assert limits.statement_timeout_seconds == 7
    assert load_settings(file, env={}) == plain


def test_a_relative_database_override_resolves_against_each_working_directory(
    project: Path, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    file = project / "ingestry.yaml"
    env = {"INGESTRY_DATABASE_URL": "sqlite:///rel.db"}
    for _ in range(2):  # the second round reads the cache
        for name in ("a", "b"):
            where = tmp_path_factory.mktemp(name)
            monkeypatch.chdir(where)
            assert (
                load_settings(file, env=env).database_url == f"sqlite:///{where.resolve()}/rel.db"
            )


@pytest.mark.parametrize(
    "damage",
    [
        b"",
        b"garbage",
        "truncated",
        "foreign global",
        "not settings",
    ],
)
def test_a_damaged_entry_is_ignored_and_rewritten(project: Path, damage: object) -> None:
    file = project / "ingestry.yaml"
    good = load_settings(file, env={})
    [entry] = entries(project)
    blob = entry.read_bytes()
    head = blob[: len(config_cache.MAGIC) + 32]
    if damage == "truncated":
        entry.write_bytes(blob[: len(blob) - 10])
    elif damage == "foreign global":  # would run a command if unpickled freely
        entry.write_bytes(head + b"cos\nsystem\n(S'touch pwned'\ntR.")
    elif damage == "not settings":
        entry.write_bytes(head + pickle.dumps({"database_url": "x"}))
    else:
        assert isinstance(damage, bytes)
        entry.write_bytes(damage)
    assert load_settings(file, env={}) == good
    assert not (project / "pwned").exists() and not Path("pwned").exists()
    assert entry.read_bytes() == blob


def test_an_invalid_config_fails_as_before_and_is_not_cached(project: Path) -> None:
    file = project / "ingestry.yaml"
    bad = CONFIG.replace("strategy: raw", "strategy: raww")
    file.write_text(bad, encoding="utf-8")
    with pytest.raises(ConfigError) as uncached:
        parse_settings(bad, file, {})
    for _ in range(2):
        with pytest.raises(ConfigError) as loaded:
            load_settings(file, env={})
        assert str(loaded.value) == str(uncached.value)
        assert "sources.customer_orders.strategy (line 9)" in str(loaded.value)
    assert entries(project) == []


def test_an_invalid_override_fails_on_a_hit_too(project: Path) -> None:
    file = project / "ingestry.yaml"
    load_settings(file, env={})
    with pytest.raises(ConfigError, match="INGESTRY_ENV must be"):
        load_settings(file, env={"INGESTRY_ENV": "staging"})


def test_off_writes_nothing(project: Path) -> None:
    settings = load_settings(project / "ingestry.yaml", env={"INGESTRY_CONFIG_CACHE": "off"})
    assert settings.source("customer_orders").name == "customer_orders"
    assert not (project / "data").exists()


def test_an_unwritable_cache_only_costs_time(project: Path) -> None:
    (project / "data").write_text("a file where the data directory would be", encoding="utf-8")
    file = project / "ingestry.yaml"
    assert (
        load_settings(file, env={})
        == load_settings(file, env={})
        == parse_settings(CONFIG, file, {})
    )
    assert list(project.glob("data/*")) == []


def test_old_entries_are_pruned(project: Path) -> None:
    file = project / "ingestry.yaml"
    for n in range(config_cache.KEEP + 3):
        load_settings(file, env={"INGESTRY_JOBS_MAX_ATTEMPTS": str(n + 1)})
    assert len(entries(project)) == config_cache.KEEP


def test_the_key_holds_every_override_the_parser_reads() -> None:
    """A variable the parser reads but the key left out would serve a stale entry."""
    package = Path(config_cache.__file__).parent
    source = "".join(p.read_text(encoding="utf-8") for p in package.glob("config*.py"))
    read = set(re.findall(r'"(INGESTRY_[A-Z_]+)"', source))
    path_and_switch = {"INGESTRY_CONFIG", "INGESTRY_CONFIG_CACHE"}  # the path is in the key
    assert read - path_and_switch == set(config_cache.OVERRIDES)


def test_other_variables_do_not_split_the_cache(project: Path) -> None:
    file = project / "ingestry.yaml"
    load_settings(file, env={})
    load_settings(file, env={"INGESTRY_WORKERS": "0", "INGESTRY_REQUIRE_SERVICES": "1"})
    assert len(entries(project)) == 1


EVERY_PART = """\
conventions:
  place:
    columns:
      shape: {path: geometry, type: geometry}
      at: {path: at, type: timestamp, format: "%d.%m.%Y %H:%M", timezone: Europe/Berlin}
      amount: {type: decimal, precision: 10, scale: 2, decimal: ",", thousands: "."}
      ok: {type: boolean, true_values: [ja], false_values: [nein]}
    hooks:
      - {name: risk, run: "python hooks/risk.py", timeout: 5}
sources:
  api:
    strategy: raw
    convention: place
    rationale: r
    pull:
      url: https://example.com/x
      auth: {type: bearer, env: TOKEN}
      paginator: {type: cursor, path: next, param: c}
      cursor: {field: at, param: since}
      items: data.items
    schedule: "*/5 * * * *"
  shapes:
    strategy: simple
    convention: place
    rationale: r
    format: geojson
    files: [a/*.geojson]
backup: {schedule: "0 3 * * *"}
hooks: {runner: subprocess, options: {x: 1}}
"""


def test_every_part_of_a_config_reads_back_equal(tmp_path: Path) -> None:
    """Geometry measures, reading options, a pull source, backups, hooks: all cached."""
    file = tmp_path / "ingestry.yaml"
    file.write_text(EVERY_PART, encoding="utf-8")
    parsed = parse_settings(EVERY_PART, file, {})
    assert load_settings(file, env={}) == parsed
    assert len(entries(tmp_path)) == 1
    cached = load_settings(file, env={})
    assert cached == parsed
    assert cached.source("api").pull is not None


def test_the_cache_keeps_itself_out_of_git(project: Path) -> None:
    """`./dev demo` in a clean clone left `examples/data/.config-cache/` untracked: the
    folder ignores itself, and the pruning never counts that file."""
    file = project / "ingestry.yaml"
    for n in range(config_cache.KEEP + 2):
        load_settings(file, env={"INGESTRY_JOBS_MAX_ATTEMPTS": str(n + 1)})
    (ignore,) = project.glob("data/.config-cache/.gitignore")
    assert ignore.read_text(encoding="utf-8").splitlines()[-1] == "*"
    assert len(entries(project)) == config_cache.KEEP
